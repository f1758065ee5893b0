// A NumPy .npz archive (np.savez, np.savez_compressed): a zip of .npy members, read with fflate. The members are
// listed first without inflating anything; only the arrays needed are inflated, each refused before inflating when
// its declared size is over the bound, so that a small damaged or hostile archive cannot fill memory.
import { unzipSync, type UnzipFileInfo } from 'fflate';
import { DataError } from '../model/data.js';
import { parseNpy, type NpyArray } from './npy.js';
import { printable } from './spike-data.js';

/** The most bytes one inflated member may hold (1 GiB: 134 million float64 spike times). */
export const MAX_MEMBER_BYTES = 2 ** 30;

export interface NpzMember {
  /** The array's name: the member's file name without ".npy" (as np.load(f)[name] takes it). */
  name: string;
  file: string;
  bytes: number;
}

function unzip(bytes: Uint8Array, where: string, filter: (file: UnzipFileInfo) => boolean): Record<string, Uint8Array> {
  try {
    return unzipSync(bytes, { filter });
  } catch (error) {
    if (error instanceof DataError) throw error;
    // fflate's messages are short ("invalid zip data", "unknown compression type 99") and never hold the bytes.
    const reason = printable(String((error as Error)?.message ?? error), 80);
    throw new DataError(`${where} is not a zip archive that can be read (${reason}): save the arrays with np.savez or np.savez_compressed`);
  }
}

/** The members of the archive, in its order, without inflating them. */
export function listNpz(bytes: Uint8Array, where: string): NpzMember[] {
  const members: NpzMember[] = [];
  unzip(bytes, where, (file) => {
    members.push({ name: file.name.replace(/\.npy$/, ''), file: file.name, bytes: file.originalSize });
    return false;
  });
  if (members.length === 0) throw new DataError(`${where} is an empty archive: it holds no arrays`);
  return members;
}

/** The named members parsed as arrays; `where` names the archive. */
export function readNpzArrays(bytes: Uint8Array, where: string, members: NpzMember[]): Map<string, NpyArray> {
  for (const member of members) {
    if (member.bytes > MAX_MEMBER_BYTES) {
      throw new DataError(`${where}: the array "${printable(member.name, 40)}" inflates to ${member.bytes} bytes, more than the ${MAX_MEMBER_BYTES} read at once: save fewer spikes per file`);
    }
  }
  const wanted = new Set(members.map((member) => member.file));
  const files = unzip(bytes, where, (file) => wanted.has(file.name) && file.originalSize <= MAX_MEMBER_BYTES);
  const arrays = new Map<string, NpyArray>();
  for (const member of members) {
    const content = files[member.file];
    if (!content) throw new DataError(`${where}: the array "${printable(member.name, 40)}" could not be inflated: the archive is damaged`);
    arrays.set(member.name, parseNpy(content, `the array "${printable(member.name, 40)}" in ${where}`));
  }
  return arrays;
}
