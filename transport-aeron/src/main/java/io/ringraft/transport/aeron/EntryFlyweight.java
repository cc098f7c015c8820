package io.ringraft.transport.aeron;

/** Flyweight over the fixed part of one entry in an AppendEntries body; the payload follows it. */
public final class EntryFlyweight extends BodyFlyweight<EntryFlyweight>
{
    private static final int TERM = 0;
    private static final int INDEX = 8;
    private static final int PAYLOAD_LENGTH = 16;
    private static final int TYPE = 20;

    /** @return the entry's term */
    public long term()
    {
        return getLong(TERM);
    }

    /** @return the entry's index */
    public long index()
    {
        return getLong(INDEX);
    }

    /** @return the length of the payload after the fixed part */
    public int payloadLength()
    {
        return getInt(PAYLOAD_LENGTH);
    }

    /** @return the entry type code */
    public int type()
    {
        return getByte(TYPE);
    }

    /**
     * Writes the fixed part.
     *
     * @param term the value that {@link #term()} reads back
     * @param index the value that {@link #index()} reads back
     * @param payloadLength the value that {@link #payloadLength()} reads back
     * @param type the value that {@link #type()} reads back
     */
    public void write(final long term, final long index, final int payloadLength, final int type)
    {
        putLong(TERM, term);
        putLong(INDEX, index);
        putInt(PAYLOAD_LENGTH, payloadLength);
        putByte(TYPE, type);
    }
}
