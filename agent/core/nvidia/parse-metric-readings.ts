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


const MIB = 1024 ** 2;
const ratio = (pct: number | null): number | null => (pct === null ? null : pct / 100);
const mib = (n: number | null): number | null => (n === null ? null : Math.round(n * MIB));

/** Where each reading is, by its name in one of nvidia-smi's outputs. */
interface ReadingNames {
  smClock: string;
  memoryClock: string;
  encoderUtil: string;
  decoderUtil: string;
  memoryReserved: string;
}

const XML_NAMES: ReadingNames = { smClock: 'clocks/sm_clock', memoryClock: 'clocks/mem_clock', encoderUtil: 'utilization/encoder_util', decoderUtil: 'utilization/decoder_util', memoryReserved: 'fb_memory_usage/reserved' };
const ROW_NAMES: ReadingNames = { smClock: 'clocks.current.sm', memoryClock: 'clocks.current.memory', encoderUtil: 'utilization.encoder', decoderUtil: 'utilization.decoder', memoryReserved: 'memory.reserved' };

/** Asked by the light probe after LIGHT_QUERY_FIELDS (the collector appends them). */
export const METRIC_QUERY_FIELDS: readonly string[] = [ROW_NAMES.smClock, ROW_NAMES.memoryClock, ROW_NAMES.encoderUtil, ROW_NAMES.decoderUtil, ROW_NAMES.memoryReserved];

function readings(num: (name: string) => number | null, n: ReadingNames): GpuMetricReadings {
  return {
    smClockMHz: num(n.smClock),
    memoryClockMHz: num(n.memoryClock),
    encoderUtilizationRatio: ratio(num(n.encoderUtil)),
    decoderUtilizationRatio: ratio(num(n.decoderUtil)),
    memoryReservedBytes: mib(num(n.memoryReserved)),
  };
}

/** From `-q -x`: `num` reads the number at a slash path of the GPU's element (absent/N/A: null). */
export function metricReadingsFromXml(num: (path: string) => number | null): GpuMetricReadings {
  return readings(num, XML_NAMES);
}

/** From one `--query-gpu` row: `num` reads the number in the cell of a field (absent, not asked, [N/A]: null). */
export function metricReadingsFromRow(num: (field: string) => number | null): GpuMetricReadings {
  return readings(num, ROW_NAMES);
}
