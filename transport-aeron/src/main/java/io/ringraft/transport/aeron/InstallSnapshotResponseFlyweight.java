package io.ringraft.transport.aeron;

/** Flyweight over the fixed block of an InstallSnapshot response body; the snapshot id follows it. */
public final class InstallSnapshotResponseFlyweight extends BodyFlyweight<InstallSnapshotResponseFlyweight>
{
    private static final int NEXT_OFFSET = 0;
    private static final int FLAGS = 8;
    private static final int DONE = 1;

    /** @return the offset the follower expects next */
    public long nextOffset()
    {
        return getLong(NEXT_OFFSET);
    }

    /** @return true once the snapshot is installed */
    public boolean done()
    {
        return (getByte(FLAGS) & DONE) != 0;
    }

    /**
     * Writes every field of the block.
     *
     * @param nextOffset the value that {@link #nextOffset()} reads back
     * @param done the value that {@link #done()} reads back
     */
    public void write(final long nextOffset, final boolean done)
    {
        putLong(NEXT_OFFSET, nextOffset);
        putByte(FLAGS, flag(done, DONE));
    }
}
