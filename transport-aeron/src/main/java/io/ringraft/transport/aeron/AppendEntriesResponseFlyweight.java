package io.ringraft.transport.aeron;

/** Flyweight over the fixed block of an AppendEntries response body. */
public final class AppendEntriesResponseFlyweight extends BodyFlyweight<AppendEntriesResponseFlyweight>
{
    private static final int MATCH_INDEX = 0;
    private static final int CONFLICT_TERM = 8;
    private static final int CONFLICT_INDEX = 16;
    private static final int SEQ = 24;
    private static final int FLAGS = 32;
    private static final int SUCCESS = 1;

    /** @return the last matching durable index on success */
    public long matchIndex()
    {
        return getLong(MATCH_INDEX);
    }

    /** @return the conflict term hint */
    public long conflictTerm()
    {
        return getLong(CONFLICT_TERM);
    }

    /** @return the conflict index hint */
    public long conflictIndex()
    {
        return getLong(CONFLICT_INDEX);
    }

    /** @return the request's broadcast round */
    public long seq()
    {
        return getLong(SEQ);
    }

    /** @return whether the consistency check passed */
    public boolean success()
    {
        return (getByte(FLAGS) & SUCCESS) != 0;
    }

    /**
     * Writes every field.
     *
     * @param success the value that {@link #success()} reads back
     * @param matchIndex the value that {@link #matchIndex()} reads back
     * @param conflictTerm the value that {@link #conflictTerm()} reads back
     * @param conflictIndex the value that {@link #conflictIndex()} reads back
     * @param seq the value that {@link #seq()} reads back
     */
    public void write(final boolean success, final long matchIndex, final long conflictTerm, final long conflictIndex, final long seq)
    {
        putLong(MATCH_INDEX, matchIndex);
        putLong(CONFLICT_TERM, conflictTerm);
        putLong(CONFLICT_INDEX, conflictIndex);
        putLong(SEQ, seq);
        putByte(FLAGS, flag(success, SUCCESS));
    }
}
