package io.ringraft.engine;

import java.util.concurrent.TimeUnit;

/**
 * The protocol settings of one node's {@link Engine}. Fluent setters; {@link #validate()} checks
 * every value and names the bad setting.
 */
public final class EngineConfig
{
    private long nodeId;
    private long electionTimeoutMinNanos = TimeUnit.MILLISECONDS.toNanos(150);
    private long electionTimeoutMaxNanos = TimeUnit.MILLISECONDS.toNanos(300);
    private long heartbeatIntervalNanos = TimeUnit.MILLISECONDS.toNanos(50);
    private int maxInflightAppends = 64;
    private int maxEntriesPerAppend = 1024;
    private int electionBackoffLimit = 2;
    private boolean preVote = true;
    private boolean checkQuorum = true;
    private PlantedBug plantedBug = PlantedBug.NONE;
    private TestControl testControl;
    private long logRetainEntries = 1024;
    private long maxClockDriftNanos = TimeUnit.MILLISECONDS.toNanos(15);

    /** @return this node's id, positive */
    public long nodeId()
    {
        return nodeId;
    }

    /** @param nodeId this node's id, positive */
    public EngineConfig nodeId(final long nodeId)
    {
        this.nodeId = nodeId;
        return this;
    }

    /** @return the {@code electionTimeoutMinNanos} setting */
    public long electionTimeoutMinNanos()
    {
        return electionTimeoutMinNanos;
    }

    /** @param nanos the lower bound of the randomized election timeout */
    public EngineConfig electionTimeoutMinNanos(final long nanos)
    {
        this.electionTimeoutMinNanos = nanos;
        return this;
    }

    /** @return the {@code electionTimeoutMaxNanos} setting */
    public long electionTimeoutMaxNanos()
    {
        return electionTimeoutMaxNanos;
    }

    /** @param nanos the upper bound (exclusive) of the randomized election timeout */
    public EngineConfig electionTimeoutMaxNanos(final long nanos)
    {
        this.electionTimeoutMaxNanos = nanos;
        return this;
    }

    /** @return the {@code heartbeatIntervalNanos} setting */
    public long heartbeatIntervalNanos()
    {
        return heartbeatIntervalNanos;
    }

    /** @param nanos how often a leader sends heartbeats; must be below the election timeout */
    public EngineConfig heartbeatIntervalNanos(final long nanos)
    {
        this.heartbeatIntervalNanos = nanos;
        return this;
    }

    /** @return the {@code maxInflightAppends} setting */
    public int maxInflightAppends()
    {
        return maxInflightAppends;
    }

    /** @param count the replication window: AppendEntries in flight per follower */
    public EngineConfig maxInflightAppends(final int count)
    {
        this.maxInflightAppends = count;
        return this;
    }

    /** @return the {@code maxEntriesPerAppend} setting */
    public int maxEntriesPerAppend()
    {
        return maxEntriesPerAppend;
    }

    /** @param count the most entries one AppendEntries carries */
    public EngineConfig maxEntriesPerAppend(final int count)
    {
        this.maxEntriesPerAppend = count;
        return this;
    }

    /** @return the {@code electionBackoffLimit} setting */
    public int electionBackoffLimit()
    {
        return electionBackoffLimit;
    }

    /**
     * @param doublings how many times in a row an election that ends without a leader doubles the
     *                  next election timeout (0: never); the timeout is back to its bounds as soon as
     *                  a leader is heard from or this node leads
     */
    public EngineConfig electionBackoffLimit(final int doublings)
    {
        this.electionBackoffLimit = doublings;
        return this;
    }

    /** @return the {@code preVote} setting */
    public boolean preVote()
    {
        return preVote;
    }

    /** @param enabled whether candidates first ask for pre-votes (Raft thesis §9.6) */
    public EngineConfig preVote(final boolean enabled)
    {
        this.preVote = enabled;
        return this;
    }

    /** @return the {@code checkQuorum} setting */
    public boolean checkQuorum()
    {
        return checkQuorum;
    }

    /** @param enabled whether a leader that has not heard from a quorum for an election timeout steps down */
    public EngineConfig checkQuorum(final boolean enabled)
    {
        this.checkQuorum = enabled;
        return this;
    }

    /** @return the {@code logRetainEntries} setting */
    public long logRetainEntries()
    {
        return logRetainEntries;
    }

    /** @param entries how many entries behind a snapshot stay in the log for followers that lag a little */
    public EngineConfig logRetainEntries(final long entries)
    {
        this.logRetainEntries = entries;
        return this;
    }

    /** @return the {@code maxClockDriftNanos} setting */
    public long maxClockDriftNanos()
    {
        return maxClockDriftNanos;
    }

    /**
     * @param nanos the most that two nodes' clocks may disagree on the length of a minimum election
     *              timeout; a leader's read lease is that much shorter than the timeout
     */
    public EngineConfig maxClockDriftNanos(final long nanos)
    {
        this.maxClockDriftNanos = nanos;
        return this;
    }

    /** @return the {@code plantedBug} setting */
    public PlantedBug plantedBug()
    {
        return plantedBug;
    }

    /**
     * Test-only: plants a protocol bug so that a test can prove the simulator's checkers catch it.
     *
     * @param bug the bug, or {@link PlantedBug#NONE}
     */
    public EngineConfig plantedBug(final PlantedBug bug)
    {
        this.plantedBug = bug;
        return this;
    }

    /** @return the {@code testControl} setting, or null */
    public TestControl testControl()
    {
        return testControl;
    }

    /**
     * Test-only: switches a test flips while the engine runs (timers, a purge); see {@link TestControl}.
     *
     * @param control the switches, or null for none
     */
    public EngineConfig testControl(final TestControl control)
    {
        this.testControl = control;
        return this;
    }

    /**
     * @return this, once every setting is valid
     * @throws IllegalArgumentException naming the first bad setting and its value
     */
    public EngineConfig validate()
    {
        require(nodeId > 0, "nodeId", nodeId, "must be positive");
        require(electionTimeoutMinNanos > 0, "electionTimeoutMinNanos", electionTimeoutMinNanos, "must be positive");
        require(electionTimeoutMaxNanos > electionTimeoutMinNanos, "electionTimeoutMaxNanos", electionTimeoutMaxNanos,
            "must be above electionTimeoutMinNanos=" + electionTimeoutMinNanos);
        require(heartbeatIntervalNanos > 0 && heartbeatIntervalNanos < electionTimeoutMinNanos, "heartbeatIntervalNanos",
            heartbeatIntervalNanos, "must be positive and below electionTimeoutMinNanos=" + electionTimeoutMinNanos);
        require(electionBackoffLimit >= 0 && electionBackoffLimit <= 6, "electionBackoffLimit", electionBackoffLimit,
            "must be between 0 and 6");
        require(maxInflightAppends >= 1, "maxInflightAppends", maxInflightAppends, "must be at least 1");
        require(maxEntriesPerAppend >= 1, "maxEntriesPerAppend", maxEntriesPerAppend, "must be at least 1");
        require(logRetainEntries >= 0, "logRetainEntries", logRetainEntries, "must be >= 0");
        require(maxClockDriftNanos >= 0 && maxClockDriftNanos < electionTimeoutMinNanos, "maxClockDriftNanos", maxClockDriftNanos,
            "must be >= 0 and below electionTimeoutMinNanos=" + electionTimeoutMinNanos);
        require(plantedBug != null, "plantedBug", 0, "must be set (NONE for no bug)");
        return this;
    }

    private static void require(final boolean ok, final String name, final long value, final String rule)
    {
        if (!ok)
        {
            throw new IllegalArgumentException(name + "=" + value + ": " + rule);
        }
    }
}
