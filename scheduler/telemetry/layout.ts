/**
 * Pure: where nodes sit for latency attribution, and which peers each node probes.
 *
 * A node's path runs from the root's children down to the node. A domain whose node set equals its
 * only child's (a single-leaf spine, an HGX server's own NVLink domain) is collapsed into that child,
 * so every step of a path is a domain the tree can tell apart from its siblings.
 */
import type { TopologyTree } from '../topology/index.js';
import { naturalCompare } from '../topology/index.js';
import type { DomainRef } from './aggregator.js';

export function layoutFromTree(tree: TopologyTree): Map<string, DomainRef[]> {
  const out = new Map<string, DomainRef[]>();
  for (let n = 0; n < tree.nodeCount; n++) {
    const path: DomainRef[] = [];
    for (let l = tree.top - 1; l >= 1; l--) {
      const d = (tree.ancestor[l] as Int32Array)[n] as number;
      const size = ((tree.nodeEnd[l] as Int32Array)[d] as number) - ((tree.nodeStart[l] as Int32Array)[d] as number);
      const kids = ((tree.childEnd[l] as Int32Array)[d] as number) - ((tree.childStart[l] as Int32Array)[d] as number);
      // One child holding every node of this domain: the child stands for it.
      if (kids === 1 && size >= 1) continue;
      path.push({ level: tree.levels[l] as string, name: tree.domainName(l, d) });
    }
    path.push({ level: tree.levels[0] as string, name: tree.nodeName(n) });
    out.set(tree.nodeName(n), path);
  }
  return out;
}

export interface PeerChoiceOptions {
  /**
   * Peers per step up the tree, finest first: [same leaf, another leaf of the same spine, another
   * spine] on a leaf/spine tree. Missing entries are 0.
   */
  peersPerLevel: readonly number[];
}

/**
 * For every node in `paths`, the peers it probes: at each step up its path, `peersPerLevel[t]` nodes
 * under that ancestor but outside the node's own branch. Deterministic and spread: nodes are laid out
 * in tree order and node i of a branch starts at the i-th node past its branch (cyclically), so probes
 * land evenly.
 */
export function choosePeers(paths: ReadonlyMap<string, readonly DomainRef[]>, opts: PeerChoiceOptions): Map<string, string[]> {
  const key = (p: readonly DomainRef[], len: number): string => p.slice(0, len).map((r) => `${r.level}\u0000${r.name}`).join('\u0001');
  const nodes = [...paths.entries()].sort((a, b) => {
    const pa = a[1];
    const pb = b[1];
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      const c = naturalCompare((pa[i] as DomainRef).name, (pb[i] as DomainRef).name);
      if (c !== 0) return c;
    }
    return pa.length - pb.length;
  });
  // Contiguous range of every path prefix in tree order.
  const range = new Map<string, [number, number]>();
  nodes.forEach(([, p], i) => {
    for (let len = 0; len <= p.length; len++) {
      const k = key(p, len);
      const r = range.get(k);
      if (r) r[1] = i + 1;
      else range.set(k, [i, i + 1]);
    }
  });
  const out = new Map<string, string[]>();
  nodes.forEach(([name, p], i) => {
    const peers: string[] = [];
    for (let t = 1; t <= p.length; t++) {
      const want = opts.peersPerLevel[t - 1] ?? 0;
      if (want <= 0) continue;
      const [ds, de] = range.get(key(p, p.length - t)) as [number, number];
      const [ss, se] = range.get(key(p, p.length - t + 1)) as [number, number];
      const others = de - ds - (se - ss);
      for (let k = 0; k < Math.min(want, others); k++) {
        let j = se + (((i - ss) + k) % others);
        if (j >= de) j = ds + (j - de);
        peers.push((nodes[j] as [string, DomainRef[]])[0]);
      }
    }
    out.set(name, peers);
  });
  return out;
}
