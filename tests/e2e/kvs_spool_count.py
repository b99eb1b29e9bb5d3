#!/usr/bin/python3
"""Counts what a kvs spool directory holds, read independently of the C
reader: frames and fragments not marked done in the ACK journals, up to
the first bad record of each segment (a torn tail). Prints
"FRAMES FRAGMENTS"; with --tail prints the offset where the last record
of the newest segment starts and the file's size."""
import os
import struct
import sys
import zlib

HEAD = 48


def records(path):
    with open(path, 'rb') as f:
        data = f.read()
    off = 0
    while off + HEAD <= len(data):
        h = data[off:off + HEAD]
        magic, typ, flags, r1, r2, ln, fid = struct.unpack('>IBBBBIQ', h[:20])
        crc, = struct.unpack('>I', h[44:48])
        if magic != 0x56535031 or off + HEAD + ln > len(data):
            break
        if zlib.crc32(h[:44] + data[off + HEAD:off + HEAD + ln]) != crc:
            break
        yield off, typ, flags, fid
        off += HEAD + ln


def acked(path):
    done = set()
    if not os.path.exists(path):
        return done
    with open(path, 'rb') as f:
        data = f.read()
    for off in range(0, len(data) - 15, 16):
        r = data[off:off + 16]
        magic, fid, crc = struct.unpack('>IQI', r)
        if magic != 0x56535041 or zlib.crc32(r[:12]) != crc:
            break
        done.add(fid)
    return done


def main():
    d = sys.argv[1]
    segs = sorted(n for n in os.listdir(d) if n.endswith('.vsp'))
    if '--tail' in sys.argv:
        last = os.path.join(d, segs[-1])
        offs = [r[0] for r in records(last)]
        print(last, offs[-1], os.path.getsize(last))
        return
    frames = frags = 0
    for s in segs:
        done = acked(os.path.join(d, s[:-4] + '.ack'))
        for off, typ, flags, fid in records(os.path.join(d, s)):
            if typ == 2 and fid not in done:
                frames += 1
                frags += flags & 1
    print(frames, frags)


main()
