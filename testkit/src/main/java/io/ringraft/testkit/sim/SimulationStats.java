package io.ringraft.testkit.sim;

import java.util.Locale;

/**
 * Totals over many {@link Simulation.Result}s, for progress lines and summaries.
 */
public final class SimulationStats
{
    private int seeds;
    private long events;
    private long checks;
    private long simulatedNanos;
    private long ops;
    private long okOps;
    private long unknownOps;
    private long crashes;
    private long leaderTerms;
    private long truncatedEntries;
    private long snapshotsInstalled;
    private long learnersAdded;
    private long changesDone;
    private long promotions;
    private long leaderRemovals;
    private long changesFailed;
    private long churnCycles;
    private long transfers;
    private long transfersDone;
    private long transfersTimedOut;
    private long leaseReadsServed;
    private long followerReads;
    private int undecided;
    private long firstUndecidedSeed = -1;

    /**
     * @param result a passing run
     */
    public void add(final Simulation.Result result)
    {
        seeds++;
        events += result.events();
        checks += result.invariantChecks();
        simulatedNanos += result.simulatedNanos();
        ops += result.ops();
        okOps += result.okOps();
        unknownOps += result.unknownOps();
        crashes += result.crashes();
        leaderTerms += result.leaderTerms();
        truncatedEntries += result.truncatedEntries();
        snapshotsInstalled += result.snapshotsInstalled();
        learnersAdded += result.admin().learnersAdded();
        changesDone += result.admin().changesDone();
        promotions += result.admin().promotions();
        leaderRemovals += result.admin().leaderRemovals();
        changesFailed += result.admin().changesFailed();
        churnCycles += result.admin().churnCycles();
        transfers += result.admin().transfers();
        transfersDone += result.admin().transfersDone();
        transfersTimedOut += result.admin().transfersTimedOut();
        leaseReadsServed += result.leaseReadsServed();
        followerReads += result.followerReads();
        if (result.undecided())
        {
            if (undecided == 0)
            {
                firstUndecidedSeed = result.seed();
            }
            undecided++;
        }
    }

    /** @return seeds run */
    public int seeds()
    {
        return seeds;
    }

    /** @return simulated events over all seeds */
    public long events()
    {
        return events;
    }

    /** @return invariant checks over all seeds */
    public long checks()
    {
        return checks;
    }

    /** @return operations checked for linearizability */
    public long ops()
    {
        return ops;
    }

    /** @return snapshots installed from a leader, over all seeds */
    public long snapshotsInstalled()
    {
        return snapshotsInstalled;
    }

    /** @return learners added, over all seeds */
    public long learnersAdded()
    {
        return learnersAdded;
    }

    /** @return voter changes completed, over all seeds */
    public long changesDone()
    {
        return changesDone;
    }

    /** @return completed voter changes that promoted a learner */
    public long promotions()
    {
        return promotions;
    }

    /** @return completed voter changes that removed the leader running them */
    public long leaderRemovals()
    {
        return leaderRemovals;
    }

    /** @return times the voters grew to every node and shrank back to the minimum */
    public long churnCycles()
    {
        return churnCycles;
    }

    /** @return leader transfers asked for */
    public long transfers()
    {
        return transfers;
    }

    /** @return leader transfers that handed over */
    public long transfersDone()
    {
        return transfersDone;
    }

    /** @return leader transfers that timed out */
    public long transfersTimedOut()
    {
        return transfersTimedOut;
    }

    /** @return lease reads a leader served from its lease */
    public long leaseReadsServed()
    {
        return leaseReadsServed;
    }

    /** @return reads served OK by a node that was not the leader */
    public long followerReads()
    {
        return followerReads;
    }

    /** @return seeds whose linearizability check ran out of budget */
    public int undecided()
    {
        return undecided;
    }

    /** @return the first seed left undecided, or -1 */
    public long firstUndecidedSeed()
    {
        return firstUndecidedSeed;
    }

    /**
     * @param fraction the largest acceptable share of undecided seeds
     * @return true if no more than that share of the seeds was undecided
     */
    public boolean undecidedWithinLimit(final double fraction)
    {
        return undecided <= Math.floor(seeds * fraction);
    }

    /**
     * @param elapsedNanos the wall-clock time the seeds took
     * @return one line of totals and rates
     */
    public String summary(final long elapsedNanos)
    {
        final double seconds = Math.max(elapsedNanos, 1) / 1e9;
        return String.format(Locale.ROOT,
            "seeds=%d events=%d (%.0f events/s) seeds/min=%.0f simulated=%.1fs invariant checks=%d ops checked=%d " +
            "(ok=%d unknown=%d) undecided=%d crashes=%d elections won=%d entries truncated=%d snapshots installed=%d " +
            "learners added=%d membership changes done=%d (promotions=%d leader removed=%d) membership requests failed=%d churn cycles=%d " +
            "transfers=%d (done=%d timed out=%d) lease reads served by lease=%d follower reads=%d wall=%.1fs",
            seeds, events, events / seconds, seeds / seconds * 60, simulatedNanos / 1e9, checks, ops, okOps, unknownOps, undecided,
            crashes, leaderTerms, truncatedEntries, snapshotsInstalled, learnersAdded, changesDone, promotions, leaderRemovals,
            changesFailed, churnCycles, transfers, transfersDone, transfersTimedOut, leaseReadsServed, followerReads, seconds);
    }
}
