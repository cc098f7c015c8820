package io.ringraft.transport.aeron;

/** Flyweight over the fixed block of a ReadIndex request body. */
public final class ReadIndexRequestFlyweight extends BodyFlyweight<ReadIndexRequestFlyweight>
{
    private static final int READ_ID = 0;

    /** @return the follower's id for the read */
    public long readId()
    {
        return getLong(READ_ID);
    }

    /**
     * Writes every field.
     *
     * @param readId the value that {@link #readId()} reads back
     */
    public void write(final long readId)
    {
        putLong(READ_ID, readId);
    }
}
