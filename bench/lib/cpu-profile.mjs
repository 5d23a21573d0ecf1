/**
 * A CPU profile of part of the benchmark process (the V8 sampling profiler through
 * node:inspector, as `node --cpu-prof` records it, but only around the loop that matters), and
 * where its time went: self time by module (a package, a file of ours, Node's internals) and
 * by function.
 */
import { Session } from 'node:inspector/promises';

/** Runs `work()` under the profiler; resolves with the .cpuprofile object. */
export async function profiled(work) {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    // 100 µs between samples: finer than the default 1 ms, for calls of tens of µs.
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    await work();
    const { profile } = await session.post('Profiler.stop');
    return profile;
  } finally {
    session.disconnect();
  }
}

/** What a frame's URL stands for: a package, a file of ours, or Node's own code. */
function moduleOf(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const ours = /packages\/nest-server-session\/dist\/(.+)\.js$/.exec(url);
  if (ours) return `ours: ${ours[1]}`;
  const bench = /\/bench\/(.+)\.mjs$/.exec(url);
  if (bench) return `bench: ${bench[1]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/g;
  let last;
  for (const match of url.matchAll(pkg)) last = match[1];
  if (last) return last;
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:');
  return url;
}

const short = (url) =>
  url
    .replace(/^.*packages\/nest-server-session\/dist\//, 'ours/')
    .replace(/^.*node_modules\//, '')
    .replace(/^file:\/\/.*\/bench\//, 'bench/');

/**
 * Busy self time by module and by function, most first (`top` rows of each), as a share of
 * the busy samples and as µs per call: that share of `cpuMicrosPerCall`, the CPU time the
 * process measured per call. (The profiler samples wall-clock time on the main thread, so on
 * a loaded machine time the process spends descheduled, mostly inside system calls, inflates
 * the raw sample counts; the shares are what to compare.) Idle time, waiting for the server,
 * is left out; "(garbage collector)" and "(program)" (native work V8 cannot attribute) stay in.
 */
export function summarize(profile, cpuMicrosPerCall, top = 12) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfSamples = new Map();
  for (const id of profile.samples)
    selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1);
  const modules = new Map();
  const functions = new Map();
  let busy = 0;
  for (const [id, count] of selfSamples) {
    const { callFrame } = byId.get(id);
    if (callFrame.functionName === '(idle)') continue;
    busy += count;
    const module = moduleOf(callFrame.url, callFrame.functionName);
    modules.set(module, (modules.get(module) ?? 0) + count);
    const where = callFrame.url
      ? ` ${short(callFrame.url)}:${callFrame.lineNumber + 1}`
      : '';
    const name = `${callFrame.functionName || '(anonymous)'}${where}`;
    functions.set(name, (functions.get(name) ?? 0) + count);
  }
  const rows = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, count]) => ({
        name,
        microsPerCall: (count / busy) * cpuMicrosPerCall,
        share: count / busy,
      }));
  return {
    modules: rows(modules),
    functions: rows(functions),
  };
}
