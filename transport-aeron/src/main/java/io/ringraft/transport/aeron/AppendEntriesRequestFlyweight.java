package io.ringraft.transport.aeron;

/**
 * Flyweight over the fixed block of an AppendEntries request body. The entry group that follows
 * the block is read and written with {@link EntryGroupFlyweight} and {@link EntryFlyweight}.
 */
public final class AppendEntriesRequestFlyweight extends BodyFlyweight<AppendEntriesRequestFlyweight>
{
    private static final int PREV_LOG_TERM = 0;
    private static final int PREV_LOG_INDEX = 8;
    private static final int LEADER_COMMIT = 16;
    private static final int SEQ = 24;

    /** @return the term of the entry before the batch */
    public long prevLogTerm()
    {
        return getLong(PREV_LOG_TERM);
    }

    /** @return the index of the entry before the batch */
    public long prevLogIndex()
    {
        return getLong(PREV_LOG_INDEX);
    }

    /** @return the leader's commit index */
    public long leaderCommit()
    {
        return getLong(LEADER_COMMIT);
    }

    /** @return the broadcast round */
    public long seq()
    {
        return getLong(SEQ);
    }

    /**
     * Writes every field of the block.
     *
     * @param prevLogTerm the value that {@link #prevLogTerm()} reads back
     * @param prevLogIndex the value that {@link #prevLogIndex()} reads back
     * @param leaderCommit the value that {@link #leaderCommit()} reads back
     * @param seq the value that {@link #seq()} reads back
     */
    public void write(final long prevLogTerm, final long prevLogIndex, final long leaderCommit, final long seq)
    {
        putLong(PREV_LOG_TERM, prevLogTerm);
        putLong(PREV_LOG_INDEX, prevLogIndex);
        putLong(LEADER_COMMIT, leaderCommit);
        putLong(SEQ, seq);
    }
}
