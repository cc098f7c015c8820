package io.ringraft.storage.chronicle;

import io.ringraft.EntryType;
import io.ringraft.storage.RaftStorageException;
import net.openhft.chronicle.bytes.Bytes;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The log's entry layout and the check of a frame: an entry is
 * {@code index(8) term(8) type(4) length(4) payload CRC32C(4)}, little endian, the CRC32C covering
 * header and payload; a frame is entries back to back. It owns the buffer frames are read into,
 * and remembers what the last {@link #validate} found. One thread uses an instance.
 */
final class FrameCodec
{
    /** Entry header: raft index (8), term (8), type (1), reserved (3), payload length (4). */
    static final int HEADER_LENGTH = 24;
    static final int CRC_LENGTH = 4;
    static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    private final CRC32C crc = new CRC32C();
    private final int maxExcerptLength;
    /** The frame last copied in by {@link #copy}. */
    final UnsafeBuffer readBuffer = new UnsafeBuffer(new byte[4096]);

    // What the last validate found: how many entries, the last term, and where it went wrong.
    int lastFrameEntries;
    long lastFrameLastTerm;
    long lastFrameBadIndex;
    String lastFrameProblem;

    /** @param maxExcerptLength the longest excerpt that can be a frame */
    FrameCodec(final int maxExcerptLength)
    {
        this.maxExcerptLength = maxExcerptLength;
    }

    /**
     * Encodes an entry at {@code at} in {@code frame}, which has room for it.
     *
     * @return the entry's length
     */
    int encode(final UnsafeBuffer frame, final int at, final long index, final long term, final EntryType type,
        final DirectBuffer payload, final int offset, final int length)
    {
        frame.putLong(at, index, ORDER);
        frame.putLong(at + 8, term, ORDER);
        frame.putInt(at + 16, type.code(), ORDER);
        frame.putInt(at + 20, length, ORDER);
        payload.getBytes(offset, frame, at + HEADER_LENGTH, length);
        crc.reset();
        crc.update(frame.byteArray(), at, HEADER_LENGTH + length);
        frame.putInt(at + HEADER_LENGTH + length, (int)crc.getValue(), ORDER);
        return HEADER_LENGTH + length + CRC_LENGTH;
    }

    static int entryLength(final DirectBuffer buffer, final int at)
    {
        return HEADER_LENGTH + buffer.getInt(at + 20, ORDER) + CRC_LENGTH;
    }

    static long index(final DirectBuffer buffer, final int at)
    {
        return buffer.getLong(at, ORDER);
    }

    static long term(final DirectBuffer buffer, final int at)
    {
        return buffer.getLong(at + 8, ORDER);
    }

    static EntryType type(final DirectBuffer buffer, final int at)
    {
        return EntryType.fromCode(buffer.getInt(at + 16, ORDER));
    }

    static int payloadLength(final DirectBuffer buffer, final int at)
    {
        return buffer.getInt(at + 20, ORDER);
    }

    /** Copies the excerpt into {@link #readBuffer}; @return its length, or minus it if it cannot be a frame. */
    int copy(final Bytes<?> bytes)
    {
        final long remaining = bytes.readRemaining();
        if (remaining < HEADER_LENGTH + CRC_LENGTH || remaining > maxExcerptLength)
        {
            return (int)-Math.min(remaining, Integer.MAX_VALUE);
        }
        final int total = (int)remaining;
        if (readBuffer.capacity() < total)
        {
            readBuffer.wrap(new byte[Math.max(total, readBuffer.capacity() * 2)]);
        }
        bytes.read(readBuffer.byteArray(), 0, total);
        return total;
    }

    /** @return the index of the first entry of the frame in {@link #readBuffer} */
    long firstIndex()
    {
        return readBuffer.getLong(0, ORDER);
    }

    /**
     * Checks every entry of the frame in {@link #readBuffer}: lengths, CRC32C, type, indexes
     * from {@code first} on, terms never below {@code minTerm} nor decreasing.
     *
     * @return null if sound, else what is wrong (and {@link #lastFrameBadIndex} says where)
     */
    String validate(final int length, final long first, final long minTerm)
    {
        int at = 0;
        long index = first;
        long term = minTerm;
        int entries = 0;
        String problem = null;
        while (at < length && problem == null)
        {
            if (length - at < HEADER_LENGTH + CRC_LENGTH)
            {
                problem = "a frame ends in the middle of an entry header";
                break;
            }
            final int payloadLength = readBuffer.getInt(at + 20, ORDER);
            if (payloadLength < 0 || payloadLength > length - at - HEADER_LENGTH - CRC_LENGTH)
            {
                problem = "payload length " + payloadLength + " does not fit its frame";
                break;
            }
            crc.reset();
            crc.update(readBuffer.byteArray(), at, HEADER_LENGTH + payloadLength);
            final int type = readBuffer.getInt(at + 16, ORDER);
            final long entryIndex = readBuffer.getLong(at, ORDER);
            final long entryTerm = readBuffer.getLong(at + 8, ORDER);
            if ((int)crc.getValue() != readBuffer.getInt(at + HEADER_LENGTH + payloadLength, ORDER))
            {
                problem = "CRC32C mismatch";
            }
            else if (!EntryType.isKnown(type))
            {
                problem = "unknown entry type " + type;
            }
            else if (entryIndex != index)
            {
                problem = "holds index " + entryIndex;
            }
            else if (entryTerm < term)
            {
                problem = "term " + entryTerm + " after term " + term;
            }
            else
            {
                term = entryTerm;
                index++;
                entries++;
                at += HEADER_LENGTH + payloadLength + CRC_LENGTH;
            }
        }
        lastFrameEntries = entries;
        lastFrameLastTerm = term;
        lastFrameBadIndex = index;
        lastFrameProblem = problem;
        return problem;
    }

    static RaftStorageException corrupt(final long index, final Path file, final String problem)
    {
        return new RaftStorageException("corrupt log entry at index " + index + " in " + file + ": " + problem);
    }
}
