package io.ringraft.transport.aeron;

/** Flyweight over the fixed block of a ReadIndex response body. */
public final class ReadIndexResponseFlyweight extends BodyFlyweight<ReadIndexResponseFlyweight>
{
    private static final int READ_ID = 0;
    private static final int READ_INDEX = 8;
    private static final int LEADER_ID = 16;
    private static final int FLAGS = 24;
    private static final int OK = 1;

    /** @return the follower's id for the read */
    public long readId()
    {
        return getLong(READ_ID);
    }

    /** @return the index the read must observe */
    public long readIndex()
    {
        return getLong(READ_INDEX);
    }

    /** @return the leader the sender knows, or 0 */
    public long leaderId()
    {
        return getLong(LEADER_ID);
    }

    /** @return true if the sender confirmed its leadership for the read */
    public boolean ok()
    {
        return (getByte(FLAGS) & OK) != 0;
    }

    /**
     * Writes every field.
     *
     * @param readId    the value that {@link #readId()} reads back
     * @param readIndex the value that {@link #readIndex()} reads back
     * @param ok        the value that {@link #ok()} reads back
     * @param leaderId  the value that {@link #leaderId()} reads back
     */
    public void write(final long readId, final long readIndex, final boolean ok, final long leaderId)
    {
        putLong(READ_ID, readId);
        putLong(READ_INDEX, readIndex);
        putLong(LEADER_ID, leaderId);
        putByte(FLAGS, flag(ok, OK));
    }
}
