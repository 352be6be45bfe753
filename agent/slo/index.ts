export { parseExposition, parseValue, histogramOf, histogramDelta } from './parse-prometheus.js';
export type { Sample, Histogram } from './parse-prometheus.js';
export { SloScraper } from './scraper.js';
export type { SloTarget, SloScraperOptions } from './scraper.js';
