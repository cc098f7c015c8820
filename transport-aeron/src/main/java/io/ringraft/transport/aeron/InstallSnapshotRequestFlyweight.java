package io.ringraft.transport.aeron;

/**
 * Flyweight over the fixed block of an InstallSnapshot request body. The snapshot id, membership
 * and chunk follow the block as length-prefixed fields.
 */
public final class InstallSnapshotRequestFlyweight extends BodyFlyweight<InstallSnapshotRequestFlyweight>
{
    private static final int LAST_INCLUDED_TERM = 0;
    private static final int LAST_INCLUDED_INDEX = 8;
    private static final int OFFSET = 16;
    private static final int SIZE_BYTES = 24;
    private static final int CRC32C = 32;
    private static final int FLAGS = 36;
    private static final int DONE = 1;

    /** @return the term of the last entry the snapshot covers */
    public long lastIncludedTerm()
    {
        return getLong(LAST_INCLUDED_TERM);
    }

    /** @return the index of the last entry the snapshot covers */
    public long lastIncludedIndex()
    {
        return getLong(LAST_INCLUDED_INDEX);
    }

    /** @return where the chunk starts in the snapshot data */
    public long chunkOffset()
    {
        return getLong(OFFSET);
    }

    /** @return the snapshot's data length */
    public long sizeBytes()
    {
        return getLong(SIZE_BYTES);
    }

    /** @return the CRC32C of the snapshot data */
    public int crc32c()
    {
        return getInt(CRC32C);
    }

    /** @return true for the last chunk */
    public boolean done()
    {
        return (getByte(FLAGS) & DONE) != 0;
    }

    /**
     * Writes every field of the block.
     *
     * @param lastIncludedTerm the value that {@link #lastIncludedTerm()} reads back
     * @param lastIncludedIndex the value that {@link #lastIncludedIndex()} reads back
     * @param chunkOffset the value that {@link #chunkOffset()} reads back
     * @param sizeBytes the value that {@link #sizeBytes()} reads back
     * @param crc32c the value that {@link #crc32c()} reads back
     * @param done the value that {@link #done()} reads back
     */
    public void write(
        final long lastIncludedTerm, final long lastIncludedIndex, final long chunkOffset, final long sizeBytes,
        final int crc32c, final boolean done)
    {
        putLong(LAST_INCLUDED_TERM, lastIncludedTerm);
        putLong(LAST_INCLUDED_INDEX, lastIncludedIndex);
        putLong(OFFSET, chunkOffset);
        putLong(SIZE_BYTES, sizeBytes);
        putInt(CRC32C, crc32c);
        putByte(FLAGS, flag(done, DONE));
    }
}
