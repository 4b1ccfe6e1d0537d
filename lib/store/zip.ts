/**
 * Just enough ZIP for `smart-steps db backup|restore`: a writer that streams entries through
 * deflate into one file, and a reader that checks every structure and CRC it relies on. Written
 * here rather than taken from a package because the backup needs little (deflate, UTF-8 names,
 * ZIP64 for large collections) and Node has the hard parts (zlib's raw deflate and crc32), so a
 * dependency would add supply chain for no gain. The archives open with `unzip`, Python's zipfile
 * and the like; the reader is meant for our own archives and refuses what it does not understand
 * (encryption, multi-disk, methods other than store and deflate).
 *
 * ZIP64: every local header carries a ZIP64 extra field with the sizes (they are patched in once
 * the entry is written, so entries stream without being held in memory or a temporary file);
 * the central directory and the end record use ZIP64 only when a value does not fit 32 bits.
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Writable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflateRaw, createInflateRaw, crc32 } from 'node:zlib';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const ZIP64_EXTRA = 0x0001;
const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
/** Names are UTF-8 (general purpose flag bit 11). */
const FLAG_UTF8 = 0x0800;
/** 4.5 is the version that knows ZIP64; made on Unix (3), for the file permissions. */
const VERSION = 45;
const MADE_BY = (3 << 8) | VERSION;
const METHOD_STORE = 0;
const METHOD_DEFLATE = 8;

/** The archive is damaged, truncated, or not one this reader understands. */
export class ZipError extends Error {}

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

interface Written extends ZipEntry {
  time: number;
  date: number;
}

export class ZipWriter {
  private offset = 0;
  private readonly entries: Written[] = [];

  private constructor(
    private readonly fh: FileHandle,
    private readonly modified: Date,
  ) {}

  /** A new archive at `path` (which must not exist), readable by its owner only. */
  static async create(path: string, modified = new Date()): Promise<ZipWriter> {
    return new ZipWriter(await open(path, 'wx', 0o600), modified);
  }

  /** Adds one deflated entry from `source`; returns its uncompressed size. */
  async add(name: string, source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>) {
    const nameBytes = Buffer.from(name, 'utf8');
    const start = this.offset;
    const { time, date } = dosTime(this.modified);
    const header = Buffer.alloc(30 + nameBytes.length + 20);
    header.writeUInt32LE(SIG_LOCAL, 0);
    header.writeUInt16LE(VERSION, 4);
    header.writeUInt16LE(FLAG_UTF8, 6);
    header.writeUInt16LE(METHOD_DEFLATE, 8);
    header.writeUInt16LE(time, 10);
    header.writeUInt16LE(date, 12);
    // CRC (14) is patched in afterwards; the 32-bit sizes defer to the ZIP64 extra field.
    header.writeUInt32LE(MAX32, 18);
    header.writeUInt32LE(MAX32, 22);
    header.writeUInt16LE(nameBytes.length, 26);
    header.writeUInt16LE(20, 28);
    nameBytes.copy(header, 30);
    header.writeUInt16LE(ZIP64_EXTRA, 30 + nameBytes.length);
    header.writeUInt16LE(16, 32 + nameBytes.length);
    await this.write(header);

    let crc = 0;
    let size = 0;
    const dataStart = this.offset;
    await pipeline(
      source,
      new Transform({
        transform(chunk: Buffer | string, _enc, done) {
          const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
          crc = crc32(bytes, crc);
          size += bytes.length;
          done(null, bytes);
        },
      }),
      createDeflateRaw({ level: 6 }),
      new Writable({
        write: (chunk: Buffer, _enc, done) => {
          this.write(chunk).then(() => done(), done);
        },
      }),
    );
    const compressedSize = this.offset - dataStart;

    const crcBytes = Buffer.alloc(4);
    crcBytes.writeUInt32LE(crc >>> 0);
    await this.fh.write(crcBytes, 0, 4, start + 14);
    const sizes = Buffer.alloc(16);
    sizes.writeBigUInt64LE(BigInt(size), 0);
    sizes.writeBigUInt64LE(BigInt(compressedSize), 8);
    await this.fh.write(sizes, 0, 16, start + 34 + nameBytes.length);

    this.entries.push({
      name,
      method: METHOD_DEFLATE,
      crc32: crc >>> 0,
      compressedSize,
      size,
      localHeaderOffset: start,
      time,
      date,
    });
    return size;
  }

  /** Writes the central directory and closes the file (which is then complete on disk). */
  async close(): Promise<void> {
    try {
      const cdStart = this.offset;
      for (const e of this.entries) await this.write(centralHeader(e));
      const cdSize = this.offset - cdStart;
      const count = this.entries.length;
      if (count >= MAX16 || cdStart >= MAX32 || cdSize >= MAX32) {
        const end64At = this.offset;
        const end64 = Buffer.alloc(56);
        end64.writeUInt32LE(SIG_END64, 0);
        end64.writeBigUInt64LE(44n, 4);
        end64.writeUInt16LE(MADE_BY, 12);
        end64.writeUInt16LE(VERSION, 14);
        end64.writeBigUInt64LE(BigInt(count), 24);
        end64.writeBigUInt64LE(BigInt(count), 32);
        end64.writeBigUInt64LE(BigInt(cdSize), 40);
        end64.writeBigUInt64LE(BigInt(cdStart), 48);
        const locator = Buffer.alloc(20);
        locator.writeUInt32LE(SIG_LOCATOR64, 0);
        locator.writeBigUInt64LE(BigInt(end64At), 8);
        locator.writeUInt32LE(1, 16);
        await this.write(Buffer.concat([end64, locator]));
      }
      const end = Buffer.alloc(22);
      end.writeUInt32LE(SIG_END, 0);
      end.writeUInt16LE(Math.min(count, MAX16), 8);
      end.writeUInt16LE(Math.min(count, MAX16), 10);
      end.writeUInt32LE(Math.min(cdSize, MAX32), 12);
      end.writeUInt32LE(Math.min(cdStart, MAX32), 16);
      await this.write(end);
      await this.fh.sync();
    } finally {
      await this.fh.close();
    }
  }

  /** Closes without finishing (the caller removes the file). */
  async abandon(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }

  private async write(buf: Buffer): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, this.offset);
      done += bytesWritten;
      this.offset += bytesWritten;
    }
  }
}

function centralHeader(e: Written): Buffer {
  const name = Buffer.from(e.name, 'utf8');
  // ZIP64 values appear in this order, each only when its 32-bit field overflows.
  const big = [e.size, e.compressedSize, e.localHeaderOffset].filter((v) => v >= MAX32);
  const extra = Buffer.alloc(big.length ? 4 + 8 * big.length : 0);
  if (big.length) {
    extra.writeUInt16LE(ZIP64_EXTRA, 0);
    extra.writeUInt16LE(8 * big.length, 2);
    big.forEach((v, i) => extra.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  }
  const h = Buffer.alloc(46);
  h.writeUInt32LE(SIG_CENTRAL, 0);
  h.writeUInt16LE(MADE_BY, 4);
  h.writeUInt16LE(VERSION, 6);
  h.writeUInt16LE(FLAG_UTF8, 8);
  h.writeUInt16LE(e.method, 10);
  h.writeUInt16LE(e.time, 12);
  h.writeUInt16LE(e.date, 14);
  h.writeUInt32LE(e.crc32, 16);
  h.writeUInt32LE(Math.min(e.compressedSize, MAX32), 20);
  h.writeUInt32LE(Math.min(e.size, MAX32), 24);
  h.writeUInt16LE(name.length, 28);
  h.writeUInt16LE(extra.length, 30);
  // Regular file, rw-------: the archive holds personal data.
  h.writeUInt32LE((0o100600 << 16) >>> 0, 38);
  h.writeUInt32LE(Math.min(e.localHeaderOffset, MAX32), 42);
  return Buffer.concat([h, name, extra]);
}

function dosTime(d: Date): { time: number; date: number } {
  const year = Math.max(1980, d.getUTCFullYear());
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

/** An archive opened for reading: its central directory, and each entry's data on demand. */
export class ZipReader {
  private constructor(
    private readonly path: string,
    /** Where the central directory starts: no entry's data may reach past it. */
    private readonly dataEnd: number,
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  static async open(path: string): Promise<ZipReader> {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const end = await findEnd(fh, size);
      const entries = await readCentralDirectory(fh, end.cdStart, end.cdSize, end.count);
      return new ZipReader(path, end.cdStart, entries);
    } finally {
      await fh.close();
    }
  }

  /**
   * The entry's uncompressed bytes, in chunks. Throws a ZipError at the end (after the last
   * chunk) when the CRC or size disagrees with the directory, so a caller that consumes the whole
   * entry has checked it.
   */
  async *read(entry: ZipEntry): AsyncGenerator<Buffer> {
    const fh = await open(this.path, 'r');
    let dataStart: number;
    try {
      const local = Buffer.alloc(30);
      await readFully(fh, local, entry.localHeaderOffset);
      if (local.readUInt32LE(0) !== SIG_LOCAL) {
        throw new ZipError(`entry ${entry.name}: no local header where the directory says`);
      }
      dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    } finally {
      await fh.close();
    }
    if (dataStart + entry.compressedSize > this.dataEnd) {
      throw new ZipError(`entry ${entry.name}: its data runs past the end of the entries`);
    }
    let crc = 0;
    let size = 0;
    if (entry.compressedSize > 0) {
      const raw = createReadStream(this.path, {
        start: dataStart,
        end: dataStart + entry.compressedSize - 1,
      });
      const source = entry.method === METHOD_DEFLATE ? raw.pipe(createInflateRaw()) : raw;
      raw.once('error', (err) => source.destroy(err));
      try {
        for await (const chunk of source as AsyncIterable<Buffer>) {
          crc = crc32(chunk, crc);
          size += chunk.length;
          if (size > entry.size) break;
          yield chunk;
        }
      } catch (err) {
        if (err instanceof ZipError) throw err;
        throw new ZipError(`entry ${entry.name}: ${(err as Error).message}`);
      } finally {
        raw.destroy();
        source.destroy();
      }
    }
    if (size !== entry.size || crc >>> 0 !== entry.crc32) {
      throw new ZipError(`entry ${entry.name}: its contents do not match their CRC or size`);
    }
  }

  /** A whole (small) entry, refused above `limit` bytes. */
  async readAll(entry: ZipEntry, limit: number): Promise<Buffer> {
    if (entry.size > limit) throw new ZipError(`entry ${entry.name} is larger than expected`);
    const chunks: Buffer[] = [];
    for await (const chunk of this.read(entry)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }
}

async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  const { bytesRead } = await fh.read(buf, 0, buf.length, position);
  if (bytesRead !== buf.length) throw new ZipError('truncated: the file ends early');
}

/** The end of central directory record (and its ZIP64 form when the values need it). */
async function findEnd(fh: FileHandle, size: number) {
  const notZip = () =>
    new ZipError('truncated, or not a ZIP archive (no end of central directory record)');
  if (size < 22) throw notZip();
  // The record is the last thing in the file, followed only by a comment of up to 64 KiB.
  const tailLength = Math.min(size, 22 + MAX16);
  const tail = Buffer.alloc(tailLength);
  await readFully(fh, tail, size - tailLength);
  let at = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_END && i + 22 + tail.readUInt16LE(i + 20) === tailLength) {
      at = i;
      break;
    }
  }
  if (at < 0) throw notZip();
  const endOffset = size - tailLength + at;
  if (tail.readUInt16LE(at + 4) !== 0 || tail.readUInt16LE(at + 6) !== 0) {
    throw new ZipError('multi-part ZIP archives are not supported');
  }
  let count = tail.readUInt16LE(at + 10);
  let cdSize = tail.readUInt32LE(at + 12);
  let cdStart = tail.readUInt32LE(at + 16);
  let cdEnd = endOffset;
  if (count === MAX16 || cdSize === MAX32 || cdStart === MAX32) {
    if (endOffset < 20 + 56) throw notZip();
    const locator = Buffer.alloc(20);
    await readFully(fh, locator, endOffset - 20);
    if (locator.readUInt32LE(0) !== SIG_LOCATOR64) throw notZip();
    const end64At = Number(locator.readBigUInt64LE(8));
    const end64 = Buffer.alloc(56);
    if (end64At + 56 > endOffset - 20) throw notZip();
    await readFully(fh, end64, end64At);
    if (end64.readUInt32LE(0) !== SIG_END64) throw notZip();
    count = Number(end64.readBigUInt64LE(32));
    cdSize = Number(end64.readBigUInt64LE(40));
    cdStart = Number(end64.readBigUInt64LE(48));
    cdEnd = end64At;
  }
  if (cdStart + cdSize !== cdEnd) {
    throw new ZipError(
      'truncated or damaged: the central directory is not where the end record says',
    );
  }
  return { count, cdSize, cdStart };
}

async function readCentralDirectory(
  fh: FileHandle,
  cdStart: number,
  cdSize: number,
  count: number,
): Promise<Map<string, ZipEntry>> {
  // Backups hold tens of entries; a huge directory means something else.
  if (cdSize > 64 * 1024 * 1024) throw new ZipError('the central directory is implausibly large');
  const cd = Buffer.alloc(cdSize);
  await readFully(fh, cd, cdStart);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) {
      throw new ZipError('the central directory is damaged');
    }
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const nameLength = cd.readUInt16LE(p + 28);
    const extraLength = cd.readUInt16LE(p + 30);
    const commentLength = cd.readUInt16LE(p + 32);
    if (p + 46 + nameLength + extraLength + commentLength > cd.length) {
      throw new ZipError('the central directory is damaged');
    }
    const name = cd.toString('utf8', p + 46, p + 46 + nameLength);
    if (flags & 0x0001) throw new ZipError(`entry ${name} is encrypted`);
    if (method !== METHOD_DEFLATE && method !== METHOD_STORE) {
      throw new ZipError(`entry ${name} uses an unsupported compression method (${method})`);
    }
    let size = cd.readUInt32LE(p + 24);
    let compressedSize = cd.readUInt32LE(p + 20);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    // Walk the extra fields for ZIP64's, whose values replace the saturated 32-bit ones.
    let x = p + 46 + nameLength;
    const extraEnd = x + extraLength;
    while (x + 4 <= extraEnd) {
      const id = cd.readUInt16LE(x);
      const length = cd.readUInt16LE(x + 2);
      if (x + 4 + length > extraEnd) throw new ZipError(`entry ${name}: damaged extra field`);
      if (id === ZIP64_EXTRA) {
        let v = x + 4;
        const next = () => {
          if (v + 8 > x + 4 + length) throw new ZipError(`entry ${name}: damaged ZIP64 field`);
          const value = Number(cd.readBigUInt64LE(v));
          v += 8;
          return value;
        };
        if (size === MAX32) size = next();
        if (compressedSize === MAX32) compressedSize = next();
        if (localHeaderOffset === MAX32) localHeaderOffset = next();
      }
      x += 4 + length;
    }
    if (entries.has(name)) throw new ZipError(`entry ${name} appears twice`);
    if (localHeaderOffset + 30 > cdStart) {
      throw new ZipError(`entry ${name}: its header lies outside the archive`);
    }
    entries.set(name, {
      name,
      method,
      crc32: cd.readUInt32LE(p + 16),
      compressedSize,
      size,
      localHeaderOffset,
    });
    p += 46 + nameLength + extraLength + commentLength;
  }
  if (p !== cd.length) throw new ZipError('the central directory is damaged');
  return entries;
}
