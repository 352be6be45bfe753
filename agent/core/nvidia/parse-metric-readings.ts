/**
 * Pure: the per-GPU readings only /metrics exports (dcgm-exporter's clock, encoder/decoder and
 * reserved-memory fields; see docs/agent-collectors.md "dcgm-exporter fields"), from either probe:
 * the `-q -x` document and the light `--query-gpu` CSV. No health rule judges them.
 *
 * The query fields are the spellings the real captures use (driver 590.48.01's query in
 * fixtures/nvidia_gpu_exporter asks for every one and gets values; 580.159.04's --help-query-gpu in
 * fixtures/nvidia/h100-vm-580.159.04 documents them). A driver that refuses one drops it alone
 * (adaptFields): the reading is then absent between full probes, never stale.
 */
import type { GpuMetricReadings } from '../types.js';

/** Asked by the light probe after LIGHT_QUERY_FIELDS (the collector appends them). */
export const METRIC_QUERY_FIELDS: readonly string[] = [
  'clocks.current.sm',
  'clocks.current.memory',
  'utilization.encoder',
  'utilization.decoder',
  'memory.reserved',
];

const MIB = 1024 ** 2;
const ratio = (pct: number | null): number | null => (pct === null ? null : pct / 100);
const mib = (n: number | null): number | null => (n === null ? null : Math.round(n * MIB));

/** From `-q -x`: `num` reads the number at a slash path of the GPU's element (absent/N/A: null). */
export function metricReadingsFromXml(num: (path: string) => number | null): GpuMetricReadings {
  return {
    smClockMHz: num('clocks/sm_clock'),
    memoryClockMHz: num('clocks/mem_clock'),
    encoderUtilizationRatio: ratio(num('utilization/encoder_util')),
    decoderUtilizationRatio: ratio(num('utilization/decoder_util')),
    memoryReservedBytes: mib(num('fb_memory_usage/reserved')),
  };
}

/** From one `--query-gpu` row: `num` reads the number in the cell of a field (absent, not asked, [N/A]: null). */
export function metricReadingsFromRow(num: (field: string) => number | null): GpuMetricReadings {
  return {
    smClockMHz: num('clocks.current.sm'),
    memoryClockMHz: num('clocks.current.memory'),
    encoderUtilizationRatio: ratio(num('utilization.encoder')),
    decoderUtilizationRatio: ratio(num('utilization.decoder')),
    memoryReservedBytes: mib(num('memory.reserved')),
  };
}
