package io.ringraft.transport.aeron;

/** Flyweight over the header of the entry group in an AppendEntries body. */
public final class EntryGroupFlyweight extends BodyFlyweight<EntryGroupFlyweight>
{
    private static final int ENTRY_BLOCK_LENGTH = 0;
    private static final int RESERVED = 2;
    private static final int COUNT = 4;

    /** @return the length of the fixed part of each entry */
    public int entryBlockLength()
    {
        return getShort(ENTRY_BLOCK_LENGTH);
    }

    /** @return the number of entries */
    public int count()
    {
        return getInt(COUNT);
    }

    /**
     * Writes the group header for {@code count} entries of the current entry block length.
     *
     * @param count the number of entries that follow
     */
    public void write(final int count)
    {
        putShort(ENTRY_BLOCK_LENGTH, WireFormat.ENTRY_BLOCK_LENGTH);
        putShort(RESERVED, 0);
        putInt(COUNT, count);
    }
}
