package io.ringraft.engine;

/**
 * Test-only switches of one engine, for harnesses that script a scenario exactly (the testkit's
 * simulator): handed to the engine with {@link EngineConfig#testControl} (or
 * {@code RaftConfig.testControl} for the runtime), changed by the test at any time, and read by
 * the engine at every {@link Engine#tick}. Never set one outside a test.
 * <ul>
 *     <li>{@link #electionTimer(boolean)}: off, a follower or candidate never times out by itself;</li>
 *     <li>{@link #heartbeats(boolean)}: off, a leader sends no heartbeat of its own accord (what it
 *         replicates it still sends);</li>
 *     <li>{@link #expireElectionTimer()}: the next tick acts as if the election timer expired (with
 *         pre-vote if configured), unlike {@link Engine#triggerElection()}, which skips pre-vote;</li>
 *     <li>{@link #purgeLog(long)}: the next tick purges the log up to an index its latest snapshot
 *         covers, as a purge behind that snapshot would.</li>
 * </ul>
 */
public final class TestControl
{
    private boolean electionTimer = true;
    private boolean heartbeats = true;
    private boolean electionTimeoutDue;
    private long purgeUpTo;

    /**
     * @param enabled false to stop the election timer (the node stands only when told)
     * @return this
     */
    public TestControl electionTimer(final boolean enabled)
    {
        this.electionTimer = enabled;
        return this;
    }

    /** @return whether the election timer runs */
    public boolean electionTimer()
    {
        return electionTimer;
    }

    /**
     * @param enabled false to stop a leader's periodic heartbeats
     * @return this
     */
    public TestControl heartbeats(final boolean enabled)
    {
        this.heartbeats = enabled;
        return this;
    }

    /** @return whether a leader sends periodic heartbeats */
    public boolean heartbeats()
    {
        return heartbeats;
    }

    /** The next tick of a follower or candidate acts as if its election timer expired. */
    public void expireElectionTimer()
    {
        this.electionTimeoutDue = true;
    }

    /**
     * The next tick purges the log up to {@code upToIndex}, clipped to the latest snapshot's last
     * index (a log is purged only behind a snapshot).
     *
     * @param upToIndex the last index to purge, positive
     * @throws IllegalArgumentException if not positive
     */
    public void purgeLog(final long upToIndex)
    {
        if (upToIndex <= 0)
        {
            throw new IllegalArgumentException("purgeLog upToIndex must be positive: " + upToIndex);
        }
        this.purgeUpTo = upToIndex;
    }

    /** @return true once if {@link #expireElectionTimer()} was called since */
    boolean takeElectionTimeout()
    {
        final boolean due = electionTimeoutDue;
        electionTimeoutDue = false;
        return due;
    }

    /** @return the purge asked for since the last call, or 0 */
    long takePurge()
    {
        final long upTo = purgeUpTo;
        purgeUpTo = 0;
        return upTo;
    }
}
