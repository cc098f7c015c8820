package io.ringraft;

import java.util.Arrays;

/**
 * A log entry in object form: used by the in-memory storage, the simulator and tests.
 * The zero-allocation paths carry the same fields as (term, index, type, bytes) in buffers.
 * The payload array is owned by the entry and must not be modified after construction.
 */
public final class Entry
{
    private static final byte[] EMPTY = new byte[0];

    private final long term;
    private final long index;
    private final EntryType type;
    private final byte[] payload;

    /**
     * @param term    the term of the entry
     * @param index   the index of the entry, {@code >= 1}
     * @param type    what the entry carries
     * @param payload the command bytes, or the encoded {@link Membership} for {@link EntryType#MEMBERSHIP}
     */
    public Entry(final long term, final long index, final EntryType type, final byte[] payload)
    {
        if (term < 0 || index < 1)
        {
            throw new IllegalArgumentException("entry needs term >= 0 and index >= 1: term=" + term + " index=" + index);
        }
        this.term = term;
        this.index = index;
        this.type = type;
        this.payload = payload == null ? EMPTY : payload;
    }

    /**
     * @return an entry whose payload is a copy of {@code length} bytes of {@code buffer} at {@code offset}
     */
    public static Entry copyOf(final long term, final long index, final EntryType type, final org.agrona.DirectBuffer buffer,
        final int offset, final int length)
    {
        final byte[] bytes = new byte[length];
        buffer.getBytes(offset, bytes);
        return new Entry(term, index, type, bytes);
    }

    /** @return a blank entry, appended by a new leader */
    public static Entry blank(final long term, final long index)
    {
        return new Entry(term, index, EntryType.BLANK, EMPTY);
    }

    /** @return a membership entry carrying {@code membership} */
    public static Entry membership(final long term, final long index, final Membership membership)
    {
        return new Entry(term, index, EntryType.MEMBERSHIP, membership.encode());
    }

    /** @return the term the entry was created in */
    public long term()
    {
        return term;
    }

    /** @return the entry's position in the log */
    public long index()
    {
        return index;
    }

    /** @return the entry's (term, index) */
    public LogId logId()
    {
        return new LogId(term, index);
    }

    /** @return what the entry carries */
    public EntryType type()
    {
        return type;
    }

    /** @return the payload; do not modify */
    public byte[] payload()
    {
        return payload;
    }

    /** @return the membership this entry carries; only for {@link EntryType#MEMBERSHIP} entries */
    public Membership membership()
    {
        if (type != EntryType.MEMBERSHIP)
        {
            throw new IllegalStateException("not a membership entry: " + this);
        }
        return Membership.decode(payload);
    }

    /** @return a copy with the same identity and content */
    @Override
    public boolean equals(final Object o)
    {
        if (this == o)
        {
            return true;
        }
        if (!(o instanceof Entry))
        {
            return false;
        }
        final Entry that = (Entry)o;
        return term == that.term && index == that.index && type == that.type && Arrays.equals(payload, that.payload);
    }

    @Override
    public int hashCode()
    {
        return Long.hashCode(term) * 31 + Long.hashCode(index);
    }

    @Override
    public String toString()
    {
        return "Entry{" + term + "-" + index + " " + type + " " + payload.length + "B}";
    }
}
