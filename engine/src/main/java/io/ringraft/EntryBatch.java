package io.ringraft;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * Consecutive log entries in their encoded form, read in place: what an AppendEntries carries.
 * <p>
 * Each entry is a fixed block followed by its payload:
 * <pre>
 *   term          int64   little-endian
 *   index         int64
 *   payloadLength int32
 *   type          int8    {@link EntryType#code()}
 *   checksum      int32   CRC32C of the 21 bytes above and of the payload
 *   (fields a later version adds; the block length says how long the block is)
 *   payload       payloadLength bytes
 * </pre>
 * The Aeron wire format carries the same blocks, so a received frame is read where it lies and a
 * batch built from the log is sent with one copy.
 * <p>
 * The checksum is computed once, when an entry is first written in this layout (on the leader,
 * when it appends the entry), and travels with it: copied with the entry from log to wire to log
 * and checked ({@link #checksumMatches}) by a follower before the entry is made durable, so a
 * corruption anywhere on the way is caught, not stored and applied.
 * <p>
 * An instance is a reusable view: {@link #wrap} points it at bytes someone else owns (a network
 * frame, a replication buffer), valid only as long as they are. {@link #of(List)} and
 * {@link #copy()} make batches that own their bytes. Not thread-safe.
 */
public final class EntryBatch
{
    /** Length of the fixed block of each entry this version writes. */
    public static final int ENTRY_HEADER_LENGTH = 25;
    private static final int TERM = 0;
    private static final int INDEX = 8;
    private static final int PAYLOAD_LENGTH = 16;
    private static final int TYPE = 20;
    private static final int CHECKSUM = 21;
    /** The bytes of the block before the checksum: what it covers, with the payload. */
    private static final int CHECKED_LENGTH = CHECKSUM;
    private static final ThreadLocal<Crc32c> CRC = ThreadLocal.withInitial(Crc32c::new);

    private final UnsafeBuffer view = new UnsafeBuffer(0, 0);
    private DirectBuffer buffer = view;
    private int offset;
    private int length;
    private int count;
    private int blockLength = ENTRY_HEADER_LENGTH;
    private int[] positions = new int[17]; // one past the last entry too
    // What the one pass of wrap learnt, so that no consumer walks the entries again to check them.
    private boolean consecutive = true;
    private boolean termsOrdered = true;
    private boolean typesKnown = true;
    private boolean hasMembership;

    /** Makes an empty batch, to be pointed at entries with {@link #wrap}. */
    public EntryBatch()
    {
    }

    /**
     * @param entries entries in object form, consecutive
     * @return a batch that owns a copy of them in encoded form
     * @throws IllegalArgumentException if the entries are not consecutive
     */
    public static EntryBatch of(final List<Entry> entries)
    {
        int bytes = 0;
        for (int i = 0; i < entries.size(); i++)
        {
            final Entry e = entries.get(i);
            if (i > 0 && e.index() != entries.get(i - 1).index() + 1)
            {
                throw new IllegalArgumentException("entries are not consecutive: " + entries.get(i - 1) + " then " + e);
            }
            bytes += encodedLength(e.payload().length);
        }
        final UnsafeBuffer out = new UnsafeBuffer(new byte[bytes]);
        int at = 0;
        final UnsafeBuffer payload = new UnsafeBuffer(0, 0);
        for (int i = 0; i < entries.size(); i++)
        {
            final Entry e = entries.get(i);
            payload.wrap(e.payload());
            at += write(out, at, e.term(), e.index(), e.type(), payload, 0, e.payload().length);
        }
        return new EntryBatch().wrap(out, 0, entries.size(), ENTRY_HEADER_LENGTH);
    }

    /**
     * @param payloadLength the length of an entry's payload
     * @return the bytes the entry takes in a batch this version writes
     */
    public static int encodedLength(final int payloadLength)
    {
        return ENTRY_HEADER_LENGTH + payloadLength;
    }

    /**
     * Writes one new entry at {@code offset} of {@code out} in this version's layout, computing its checksum.
     *
     * @return the bytes written, {@link #encodedLength(int) encodedLength(length)}
     */
    public static int write(final MutableDirectBuffer out, final int offset, final long term, final long index, final EntryType type,
        final DirectBuffer payload, final int payloadOffset, final int length)
    {
        final int written = write(out, offset, term, index, type, payload, payloadOffset, length, 0);
        out.putInt(offset + CHECKSUM, CRC.get().compute(out, offset, CHECKED_LENGTH, payload, payloadOffset, length), LITTLE_ENDIAN);
        return written;
    }

    /**
     * Writes one entry at {@code offset} of {@code out} in this version's layout with the checksum
     * it already has (read from a log that kept it): the checksum is not computed again.
     *
     * @return the bytes written, {@link #encodedLength(int) encodedLength(length)}
     */
    public static int write(final MutableDirectBuffer out, final int offset, final long term, final long index, final EntryType type,
        final DirectBuffer payload, final int payloadOffset, final int length, final int checksum)
    {
        out.putLong(offset + TERM, term, LITTLE_ENDIAN);
        out.putLong(offset + INDEX, index, LITTLE_ENDIAN);
        out.putInt(offset + PAYLOAD_LENGTH, length, LITTLE_ENDIAN);
        out.putByte(offset + TYPE, (byte)type.code());
        out.putInt(offset + CHECKSUM, checksum, LITTLE_ENDIAN);
        out.putBytes(offset + ENTRY_HEADER_LENGTH, payload, payloadOffset, length);
        return ENTRY_HEADER_LENGTH + length;
    }

    /** @return the checksum of the entry whose fixed block starts at {@code entryOffset} of {@code buffer} */
    public static int checksumAt(final DirectBuffer buffer, final int entryOffset)
    {
        return buffer.getInt(entryOffset + CHECKSUM, LITTLE_ENDIAN);
    }

    /** @return the term of the entry whose fixed block starts at {@code entryOffset} of {@code buffer} */
    public static long termAt(final DirectBuffer buffer, final int entryOffset)
    {
        return buffer.getLong(entryOffset + TERM, LITTLE_ENDIAN);
    }

    /** @return the payload length of the entry whose fixed block starts at {@code entryOffset} */
    public static int payloadLengthAt(final DirectBuffer buffer, final int entryOffset)
    {
        return buffer.getInt(entryOffset + PAYLOAD_LENGTH, LITTLE_ENDIAN);
    }

    /** @return the type of the entry whose fixed block starts at {@code entryOffset} (of a known code) */
    public static EntryType typeAt(final DirectBuffer buffer, final int entryOffset)
    {
        return EntryType.fromCode(buffer.getByte(entryOffset + TYPE));
    }

    /**
     * Points this batch at {@code count} encoded entries. The bytes stay where they are; the
     * batch is valid while they do.
     *
     * @param buffer      holds the entries
     * @param offset      where the first entry's block starts
     * @param count       how many entries
     * @param blockLength the length of each entry's fixed block, {@code >=} {@link #ENTRY_HEADER_LENGTH}
     * @return this
     * @throws IllegalArgumentException if an entry runs past the end of {@code buffer}, or the
     *                                  block length or count is impossible
     */
    public EntryBatch wrap(final DirectBuffer buffer, final int offset, final int count, final int blockLength)
    {
        if (count < 0 || blockLength < ENTRY_HEADER_LENGTH)
        {
            throw new IllegalArgumentException("bad entry batch: count=" + count + " blockLength=" + blockLength);
        }
        if (positions.length <= count)
        {
            positions = new int[Math.max(count + 1, positions.length * 2)];
        }
        final int capacity = buffer.capacity();
        boolean isConsecutive = true;
        boolean isOrdered = true;
        boolean isKnown = true;
        boolean membership = false;
        long firstIndex = 0;
        long previousTerm = Long.MIN_VALUE;
        int at = offset;
        for (int i = 0; i < count; i++)
        {
            if (at < 0 || at > capacity - blockLength)
            {
                throw new IllegalArgumentException("entry " + i + " of " + count + " runs past the end of the buffer");
            }
            final int payloadLength = buffer.getInt(at + PAYLOAD_LENGTH, LITTLE_ENDIAN);
            if (payloadLength < 0 || payloadLength > capacity - at - blockLength)
            {
                throw new IllegalArgumentException("entry " + i + " of " + count + " has a bad payload length " + payloadLength);
            }
            final long term = buffer.getLong(at + TERM, LITTLE_ENDIAN);
            final long index = buffer.getLong(at + INDEX, LITTLE_ENDIAN);
            final int code = buffer.getByte(at + TYPE);
            if (i == 0)
            {
                firstIndex = index;
            }
            isConsecutive &= index == firstIndex + i;
            isOrdered &= term >= previousTerm;
            isKnown &= EntryType.isKnown(code);
            membership |= code == EntryType.MEMBERSHIP.code();
            previousTerm = term;
            positions[i] = at;
            at += blockLength + payloadLength;
        }
        positions[count] = at;
        this.consecutive = isConsecutive;
        this.termsOrdered = isOrdered;
        this.typesKnown = isKnown;
        this.hasMembership = membership;
        this.buffer = buffer;
        this.offset = offset;
        this.length = at - offset;
        this.count = count;
        this.blockLength = blockLength;
        return this;
    }

    /** Empties the batch (a heartbeat carries none). @return this */
    public EntryBatch clear()
    {
        buffer = view;
        offset = 0;
        length = 0;
        count = 0;
        blockLength = ENTRY_HEADER_LENGTH;
        consecutive = true;
        termsOrdered = true;
        typesKnown = true;
        hasMembership = false;
        return this;
    }

    /**
     * @return true if the entries are well formed for a log: consecutive indexes, terms that never
     *         go back, and types this version knows (checked once, by {@link #wrap})
     */
    public boolean wellFormed()
    {
        return consecutive && termsOrdered && typesKnown;
    }

    /** @return true if some entry is a {@link EntryType#MEMBERSHIP} entry */
    public boolean hasMembership()
    {
        return hasMembership;
    }

    /** @return the term of the last entry; the batch must not be empty */
    public long lastTerm()
    {
        return term(count - 1);
    }

    /**
     * @return the bytes from the start of entry {@code from} to the end of entry {@code to - 1}:
     *         the span that holds entries {@code [from, to)}
     */
    public int spanLength(final int from, final int to)
    {
        if (from < 0 || to > count || from > to)
        {
            throw new IndexOutOfBoundsException("span [" + from + ", " + to + ") of " + count);
        }
        return positions[to] - positions[from];
    }

    /** @return how many entries */
    public int size()
    {
        return count;
    }

    /** @return true if there are none */
    public boolean isEmpty()
    {
        return count == 0;
    }

    /** @return the term of entry {@code i} (0-based) */
    public long term(final int i)
    {
        return buffer.getLong(position(i) + TERM, LITTLE_ENDIAN);
    }

    /** @return the log index of entry {@code i} */
    public long index(final int i)
    {
        return buffer.getLong(position(i) + INDEX, LITTLE_ENDIAN);
    }

    /** @return the checksum entry {@code i} carries */
    public int checksum(final int i)
    {
        return buffer.getInt(position(i) + CHECKSUM, LITTLE_ENDIAN);
    }

    /**
     * Computes entry {@code i}'s CRC32C again and compares it with the one it carries. Allocation-free.
     *
     * @return true if the entry is as it was written
     */
    public boolean checksumMatches(final int i)
    {
        final int at = position(i);
        final int length = buffer.getInt(at + PAYLOAD_LENGTH, LITTLE_ENDIAN);
        return CRC.get().compute(buffer, at, CHECKED_LENGTH, buffer, at + blockLength, length) == buffer.getInt(at + CHECKSUM, LITTLE_ENDIAN);
    }

    /** @return the type of entry {@code i}, or null for a code this version does not know */
    public EntryType type(final int i)
    {
        final int code = buffer.getByte(position(i) + TYPE);
        return EntryType.isKnown(code) ? EntryType.fromCode(code) : null;
    }

    /** @return the length of each entry's fixed block in this batch ({@link #ENTRY_HEADER_LENGTH} when built by this version) */
    public int blockLength()
    {
        return blockLength;
    }

    /** @return where entry {@code i}'s fixed block starts in {@link #buffer()}; its payload follows the block */
    public int entryOffset(final int i)
    {
        return position(i);
    }

    /** @return the buffer that holds every payload (and the blocks) */
    public DirectBuffer buffer()
    {
        return buffer;
    }

    /** @return where the payload of entry {@code i} starts in {@link #buffer()} */
    public int payloadOffset(final int i)
    {
        return position(i) + blockLength;
    }

    /** @return the length of the payload of entry {@code i} */
    public int payloadLength(final int i)
    {
        return buffer.getInt(position(i) + PAYLOAD_LENGTH, LITTLE_ENDIAN);
    }

    /** @return entry {@code i} in object form (copies the payload) */
    public Entry get(final int i)
    {
        return Entry.copyOf(term(i), index(i), type(i), buffer, payloadOffset(i), payloadLength(i));
    }

    /** @return every entry in object form (copies) */
    public List<Entry> toList()
    {
        final ArrayList<Entry> list = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            list.add(get(i));
        }
        return list;
    }

    /** @return the bytes {@link #copyTo} writes */
    public int encodedLength()
    {
        return blockLength == ENTRY_HEADER_LENGTH ? length : length - count * (blockLength - ENTRY_HEADER_LENGTH);
    }

    /**
     * Writes the entries in this version's layout (one copy when they are in it already).
     *
     * @return the bytes written, {@link #encodedLength()}
     */
    public int copyTo(final MutableDirectBuffer out, final int outOffset)
    {
        if (blockLength == ENTRY_HEADER_LENGTH)
        {
            out.putBytes(outOffset, buffer, offset, length);
            return length;
        }
        int at = outOffset;
        for (int i = 0; i < count; i++)
        {
            final EntryType type = type(i);
            if (type == null)
            {
                throw new IllegalStateException("entry " + index(i) + " has an unknown type code");
            }
            at += write(out, at, term(i), index(i), type, buffer, payloadOffset(i), payloadLength(i), checksum(i));
        }
        return at - outOffset;
    }

    /** @return a batch that owns a copy of these entries */
    public EntryBatch copy()
    {
        final UnsafeBuffer out = new UnsafeBuffer(new byte[encodedLength()]);
        copyTo(out, 0);
        return new EntryBatch().wrap(out, 0, count, ENTRY_HEADER_LENGTH);
    }

    /**
     * Builds a batch in a buffer it owns and reuses, entry by entry ({@link #onEntry}, so a log can
     * {@link io.ringraft.storage.RaftLogStorage#read read} into it) or by spans of entries already
     * in this layout ({@link #appendEncoded}), up to a byte budget. It notes where each entry
     * starts as it goes, so {@link #wrapInto} hands over a batch without a second pass over it.
     * For entries read from a log, which holds them consecutive with terms in order: that is not
     * checked again. Allocation-free once its buffers have grown to the largest batch.
     */
    public static final class Builder implements io.ringraft.storage.EntryReader
    {
        private final org.agrona.ExpandableArrayBuffer buffer;
        private int[] starts = new int[64];
        private int length;
        private int count;
        private int maxBytes;
        private boolean membership;

        /** @param initialCapacity the buffer's first size, in bytes */
        public Builder(final int initialCapacity)
        {
            buffer = new org.agrona.ExpandableArrayBuffer(initialCapacity);
        }

        /**
         * Empties the builder.
         *
         * @param maxBytes the most bytes of entries to take; the first entry is taken whatever its size
         * @return this
         */
        public Builder reset(final int maxBytes)
        {
            this.maxBytes = maxBytes;
            length = 0;
            count = 0;
            membership = false;
            return this;
        }

        /** @return how many entries are in */
        public int count()
        {
            return count;
        }

        /** @return the bytes taken so far */
        public int length()
        {
            return length;
        }

        /** @return how many more bytes the budget allows (never negative) */
        public int room()
        {
            return Math.max(0, maxBytes - length);
        }

        /**
         * Takes one entry if the budget allows it (or it is the first).
         *
         * @return true if taken, false once the budget is spent
         */
        @Override
        public boolean onEntry(final long term, final long index, final EntryType type, final DirectBuffer payload, final int offset,
            final int payloadLength)
        {
            if (count > 0 && length + ENTRY_HEADER_LENGTH + payloadLength > maxBytes)
            {
                return false;
            }
            noteStart(length, type == EntryType.MEMBERSHIP);
            length += write(buffer, length, term, index, type, payload, offset, payloadLength);
            return true;
        }

        /**
         * Takes {@code entries} consecutive entries already in this version's layout, copied as one
         * span. The caller keeps to {@link #room()} (or takes a single first entry).
         *
         * @throws IllegalArgumentException if the span does not hold exactly {@code entries} entries
         */
        public void appendEncoded(final DirectBuffer source, final int offset, final int bytes, final int entries)
        {
            buffer.putBytes(length, source, offset, bytes);
            if (starts.length < count + entries)
            {
                starts = java.util.Arrays.copyOf(starts, Math.max(count + entries, starts.length * 2));
            }
            final int end = length + bytes;
            int at = length;
            int k = 0;
            boolean anyMembership = false;
            while (k < entries && at >= 0 && at <= end - ENTRY_HEADER_LENGTH)
            {
                starts[count + k++] = at;
                anyMembership |= buffer.getByte(at + TYPE) == EntryType.MEMBERSHIP.code();
                at += ENTRY_HEADER_LENGTH + buffer.getInt(at + PAYLOAD_LENGTH, LITTLE_ENDIAN);
            }
            if (k != entries || at != end)
            {
                throw new IllegalArgumentException("a span of " + bytes + " bytes does not hold " + entries + " entries");
            }
            count += entries;
            membership |= anyMembership;
            length = end;
        }

        /**
         * Points {@code batch} at the entries built so far; valid until this builder is reset.
         *
         * @return {@code batch}
         */
        public EntryBatch wrapInto(final EntryBatch batch)
        {
            if (batch.positions.length <= count)
            {
                batch.positions = new int[Math.max(count + 1, batch.positions.length * 2)];
            }
            System.arraycopy(starts, 0, batch.positions, 0, count);
            batch.positions[count] = length;
            batch.buffer = buffer;
            batch.offset = 0;
            batch.length = length;
            batch.count = count;
            batch.blockLength = ENTRY_HEADER_LENGTH;
            batch.consecutive = true;
            batch.termsOrdered = true;
            batch.typesKnown = true;
            batch.hasMembership = membership;
            return batch;
        }

        private void noteStart(final int start, final boolean isMembership)
        {
            if (count == starts.length)
            {
                starts = java.util.Arrays.copyOf(starts, count * 2);
            }
            starts[count++] = start;
            membership |= isMembership;
        }
    }

    /**
     * CRC32C over two ranges (the block, then the payload), fed to the JDK's intrinsic in place: a heap
     * buffer by its array, an off-heap buffer that wraps a {@link ByteBuffer} (an Aeron term buffer, a ring
     * buffer) through a view of that ByteBuffer. Views are kept for the last {@link #VIEWS} ByteBuffers seen,
     * so a steady stream from one image or ring allocates nothing; only raw addresses are copied in chunks.
     */
    private static final class Crc32c
    {
        private static final int VIEWS = 4;
        private final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        private final ByteBuffer[] sources = new ByteBuffer[VIEWS];
        private final ByteBuffer[] views = new ByteBuffer[VIEWS];
        private int nextView;
        private byte[] scratch;

        int compute(final DirectBuffer a, final int aOffset, final int aLength, final DirectBuffer b, final int bOffset, final int bLength)
        {
            crc.reset();
            update(a, aOffset, aLength);
            update(b, bOffset, bLength);
            return (int)crc.getValue();
        }

        private void update(final DirectBuffer buffer, final int offset, final int length)
        {
            final byte[] array = buffer.byteArray();
            if (array != null)
            {
                crc.update(array, buffer.wrapAdjustment() + offset, length);
                return;
            }
            final ByteBuffer source = buffer.byteBuffer();
            if (source != null && source.isDirect())
            {
                final ByteBuffer view = view(source);
                final int at = buffer.wrapAdjustment() + offset;
                view.limit(at + length).position(at);
                crc.update(view);
                return;
            }
            if (scratch == null)
            {
                scratch = new byte[4096];
            }
            for (int at = 0; at < length; at += scratch.length)
            {
                final int chunk = Math.min(scratch.length, length - at);
                buffer.getBytes(offset + at, scratch, 0, chunk);
                crc.update(scratch, 0, chunk);
            }
        }

        private ByteBuffer view(final ByteBuffer source)
        {
            for (int i = 0; i < VIEWS; i++)
            {
                if (sources[i] == source)
                {
                    return views[i].clear();
                }
            }
            final int slot = nextView;
            nextView = (slot + 1) % VIEWS;
            sources[slot] = source;
            views[slot] = source.duplicate();
            return views[slot];
        }
    }

    private int position(final int i)
    {
        if (i < 0 || i >= count)
        {
            throw new IndexOutOfBoundsException("entry " + i + " of " + count);
        }
        return positions[i];
    }

    /** Same entries, same content. */
    @Override
    public boolean equals(final Object o)
    {
        if (this == o)
        {
            return true;
        }
        if (!(o instanceof EntryBatch))
        {
            return false;
        }
        final EntryBatch that = (EntryBatch)o;
        if (count != that.count)
        {
            return false;
        }
        for (int i = 0; i < count; i++)
        {
            if (term(i) != that.term(i) || index(i) != that.index(i) || type(i) != that.type(i) ||
                payloadLength(i) != that.payloadLength(i))
            {
                return false;
            }
            final int a = payloadOffset(i);
            final int b = that.payloadOffset(i);
            for (int j = 0, n = payloadLength(i); j < n; j++)
            {
                if (buffer.getByte(a + j) != that.buffer.getByte(b + j))
                {
                    return false;
                }
            }
        }
        return true;
    }

    @Override
    public int hashCode()
    {
        return count == 0 ? 0 : Long.hashCode(index(0)) * 31 + count;
    }

    @Override
    public String toString()
    {
        return count == 0 ? "[]" : "[" + count + " entries " + term(0) + "-" + index(0) + ".." + term(count - 1) + "-" + index(count - 1) + "]";
    }
}
