package io.kvw.worker.ledger;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.BitSet;

/**
 * Encodes the offsets already finished above a partition's committed position into the offset
 * commit's metadata string (Parallel Consumer's offset map), so the next owner of the
 * partition skips them instead of running them again.
 *
 * <p>Format: {@code kvw1} + a kind letter + unpadded base64url of a payload that starts with the
 * committed offset (a varint, so a map left by another position is never misread), then
 * either a bitmap ({@code b}: bit i set = offset {@code base + i} finished) or run lengths
 * ({@code r}: varints alternating unfinished and finished runs, starting with unfinished). The
 * smaller of the two is written.
 *
 * <p>The broker refuses metadata longer than {@code offset.metadata.max.bytes} (4 KiB by
 * default), which would fail the whole commit. When a partition's map does not fit in
 * {@code maxChars}, it is cut: only the finished offsets within the first {@code N} above the
 * committed one are kept, N being as many as a bitmap of {@code maxChars} holds (about 24,000
 * offsets at 4 KiB). Finished records above the cut are run again after a crash or a
 * rebalance, as they would be without a map; nothing is skipped that was not finished.
 */
public final class OffsetMapCodec {
  private static final String PREFIX = "kvw1";
  private static final char BITMAP = 'b';
  private static final char RUNS = 'r';

  /** Finished offsets above {@code base}: bit i stands for offset {@code base + i}. */
  public record OffsetMap(long base, BitSet finished) {
    public boolean isFinished(long offset) {
      long i = offset - base;
      return i >= 0 && i < Integer.MAX_VALUE && finished.get((int) i);
    }
  }

  private final int maxChars;

  /** {@code maxChars}: the broker's {@code offset.metadata.max.bytes}; 0 turns maps off. */
  public OffsetMapCodec(int maxChars) {
    if (maxChars < 0) {
      throw new IllegalArgumentException("maxChars must be >= 0, got " + maxChars);
    }
    this.maxChars = maxChars;
  }

  /** The metadata for a commit at {@code base}: "" when nothing above it is finished. */
  public String encode(long base, BitSet finished) {
    if (finished.isEmpty() || maxChars == 0) {
      return "";
    }
    String full = smaller(base, finished);
    if (full.length() <= maxChars) {
      return full;
    }
    int bits = bitmapCapacity(base);
    if (bits <= 0) {
      return "";
    }
    return smaller(base, finished.get(0, bits));
  }

  /** The map in {@code metadata} if it is ours and was written for {@code base}; else null. */
  public OffsetMap decode(long base, String metadata) {
    if (metadata == null || metadata.length() < PREFIX.length() + 1
        || !metadata.startsWith(PREFIX)) {
      return null;
    }
    try {
      ByteBuffer in = ByteBuffer.wrap(Base64.getUrlDecoder().decode(
          metadata.substring(PREFIX.length() + 1).getBytes(StandardCharsets.US_ASCII)));
      if (readVarLong(in) != base) {
        return null;
      }
      char kind = metadata.charAt(PREFIX.length());
      if (kind == BITMAP) {
        byte[] rest = new byte[in.remaining()];
        in.get(rest);
        return new OffsetMap(base, BitSet.valueOf(rest));
      }
      if (kind == RUNS) {
        BitSet finished = new BitSet();
        int at = 0;
        boolean done = false;
        while (in.hasRemaining()) {
          int run = (int) readVarLong(in);
          if (run < 0 || (long) at + run > Integer.MAX_VALUE) {
            return null;
          }
          if (done) {
            finished.set(at, at + run);
          }
          at += run;
          done = !done;
        }
        return new OffsetMap(base, finished);
      }
      return null;
    } catch (IllegalArgumentException | java.nio.BufferUnderflowException e) {
      return null; // not a map we wrote (or damaged): ignore it, the records are run again
    }
  }

  private static String smaller(long base, BitSet finished) {
    String bitmap = wrap(BITMAP, base, finished.toByteArray());
    String runs = wrap(RUNS, base, runLengths(finished));
    return runs.length() < bitmap.length() ? runs : bitmap;
  }

  private static byte[] runLengths(BitSet finished) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int at = 0;
    while (at < finished.length()) {
      int start = finished.nextSetBit(at);
      int end = finished.nextClearBit(start);
      writeVarLong(out, start - at);
      writeVarLong(out, end - start);
      at = end;
    }
    return out.toByteArray();
  }

  /** Bits a bitmap may hold while the whole string stays within {@code maxChars}. */
  private int bitmapCapacity(long base) {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    writeVarLong(head, base);
    int base64Chars = maxChars - PREFIX.length() - 1;
    int bytes = base64Chars * 3 / 4; // unpadded base64 writes n bytes in ceil(4n / 3) chars
    return (bytes - head.size()) * 8;
  }

  private static String wrap(char kind, long base, byte[] body) {
    ByteArrayOutputStream payload = new ByteArrayOutputStream();
    writeVarLong(payload, base);
    payload.writeBytes(body);
    return PREFIX + kind + Base64.getUrlEncoder().withoutPadding()
        .encodeToString(payload.toByteArray());
  }

  private static void writeVarLong(ByteArrayOutputStream out, long v) {
    while ((v & ~0x7FL) != 0) {
      out.write((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
  }

  private static long readVarLong(ByteBuffer in) {
    long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      byte b = in.get();
      v |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return v;
      }
    }
    throw new IllegalArgumentException("varint too long");
  }
}
