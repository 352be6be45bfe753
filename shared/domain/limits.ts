/** What an agent may report about its node (and its labels): the wire checks these at the boundary, the scheduler again on stored records. The topology's own limit is 1024 GPUs a node. */
export const INVENTORY_LIMITS = {
  /** GPUs a node: the topology tree's limit (buildTopology's `gpus` check). */
  maxGpus: 1024,
  /** A GPU's index is below this (and unique). */
  maxGpuIndex: 1023,
  /** A GPU's memory: 16 TiB. */
  maxGpuMemoryMiB: 16 * 1024 * 1024,
  /** A host's memory: 1 PiB. */
  maxHostMemoryBytes: 2 ** 50,
  maxCpuCores: 1 << 20,
  maxNumaNodes: 1024,
  /** Every string in an inventory (names, versions, UUIDs, link-matrix cells...). */
  maxStringLength: 1024,
  /** Devices in the link matrix (GPUs, NICs, CPUs), and so its rows and each row's cells. */
  maxLinkDevices: 4096,
  maxHcas: 256,
  maxHcaPorts: 64,
  maxHcaRateGbps: 1e6,
  maxLinkGroups: 1024,
  /** Entries in topology.domains and topology.nics. */
  maxDomains: 64,
  maxNics: 1024,
  /** A node's labels: this many at most, keys and values each at most maxStringLength characters. */
  maxLabels: 256,
  /** MIG instances a GPU (7 on every MIG GPU today; room for compute-instance splits). */
  maxMigInstances: 64,
  /** Streaming multiprocessors of one MIG instance; platformInfo numbers (slot, tray, host, module) up to this. */
  maxSmallCount: 1 << 16,
} as const;

