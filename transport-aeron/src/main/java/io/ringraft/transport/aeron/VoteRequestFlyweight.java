package io.ringraft.transport.aeron;

/** Flyweight over the fixed block of a VoteRequest body. */
public final class VoteRequestFlyweight extends BodyFlyweight<VoteRequestFlyweight>
{
    private static final int LAST_LOG_TERM = 0;
    private static final int LAST_LOG_INDEX = 8;
    private static final int FLAGS = 16;
    private static final int PRE_VOTE = 1;
    private static final int TRANSFER = 2;

    /** @return the candidate's last log term */
    public long lastLogTerm()
    {
        return getLong(LAST_LOG_TERM);
    }

    /** @return the candidate's last log index */
    public long lastLogIndex()
    {
        return getLong(LAST_LOG_INDEX);
    }

    /** @return true for a pre-vote */
    public boolean preVote()
    {
        return (getByte(FLAGS) & PRE_VOTE) != 0;
    }

    /** @return true for an election ordered by a leader transfer */
    public boolean transfer()
    {
        return (getByte(FLAGS) & TRANSFER) != 0;
    }

    /**
     * Writes every field.
     *
     * @param lastLogTerm the value that {@link #lastLogTerm()} reads back
     * @param lastLogIndex the value that {@link #lastLogIndex()} reads back
     * @param preVote the value that {@link #preVote()} reads back
     * @param transfer the value that {@link #transfer()} reads back
     */
    public void write(final long lastLogTerm, final long lastLogIndex, final boolean preVote, final boolean transfer)
    {
        putLong(LAST_LOG_TERM, lastLogTerm);
        putLong(LAST_LOG_INDEX, lastLogIndex);
        putByte(FLAGS, flag(preVote, PRE_VOTE) | flag(transfer, TRANSFER));
    }
}
