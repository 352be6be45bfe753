export {
  HISTOGRAM_BUCKETS,
  BUCKET_UPPER_US,
  bucketIndex,
  newCounts,
  record,
  mergeInto,
  total,
  quantileUs,
  toSparse,
  addSparse,
  sparseTotal,
} from './histogram.js';
