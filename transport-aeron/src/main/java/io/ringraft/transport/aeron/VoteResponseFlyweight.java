package io.ringraft.transport.aeron;

/** Flyweight over the fixed block of a VoteResponse body. */
public final class VoteResponseFlyweight extends BodyFlyweight<VoteResponseFlyweight>
{
    private static final int FLAGS = 0;
    private static final int GRANTED = 1;
    private static final int PRE_VOTE = 2;

    /** @return whether the vote is granted */
    public boolean granted()
    {
        return (getByte(FLAGS) & GRANTED) != 0;
    }

    /** @return whether it answers a pre-vote */
    public boolean preVote()
    {
        return (getByte(FLAGS) & PRE_VOTE) != 0;
    }

    /**
     * Writes every field.
     *
     * @param granted the value that {@link #granted()} reads back
     * @param preVote the value that {@link #preVote()} reads back
     */
    public void write(final boolean granted, final boolean preVote)
    {
        putByte(FLAGS, flag(granted, GRANTED) | flag(preVote, PRE_VOTE));
    }
}
