package io.ringraft.testkit.sim;

/**
 * A simulated run broke an invariant, lost linearizability or liveness, or the node threw. The
 * message carries the seed (replay it with {@link Simulation#run(long)} under the same options),
 * the node states and the last events of the trace.
 */
public final class SimulationFailure extends RuntimeException
{
    private final long seed;
    private final String reason;
    private final String nodeStates;
    private final String trace;

    /**
     * @param seed       the seed of the run
     * @param reason     what went wrong, in one line
     * @param nodeStates the state of every node when it went wrong
     * @param trace      the last events, one per line
     * @param cause      the exception the node threw, or null
     */
    public SimulationFailure(final long seed, final String reason, final String nodeStates, final String trace,
        final Throwable cause)
    {
        super("seed " + seed + ": " + reason + "\n--- nodes ---\n" + nodeStates + "--- last events ---\n" + trace +
            "--- replay: seed " + seed + " ---", cause);
        this.seed = seed;
        this.reason = reason;
        this.nodeStates = nodeStates;
        this.trace = trace;
    }

    /** @return the seed that replays the failure */
    public long seed()
    {
        return seed;
    }

    /** @return what went wrong, in one line */
    public String reason()
    {
        return reason;
    }

    /** @return the node states at the failure */
    public String nodeStates()
    {
        return nodeStates;
    }

    /** @return the last events before the failure */
    public String trace()
    {
        return trace;
    }
}
