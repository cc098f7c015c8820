package io.ringraft.testkit.sim;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The default simulation budget: many seeds of randomized faults over 3- and 5-node clusters,
 * each checked for Raft's safety invariants after every event, for liveness after the faults
 * stop, and for linearizability of the client history.
 * <p>
 * The workload includes membership churn (learners added and promoted, voters removed, the leader
 * among them), leader transfers to up-to-date, lagging and dead voters, snapshot installs, lease reads
 * and follower reads; with enough seeds the run must show each of them happening.
 * <p>
 * {@code -Dringraft.sim.seeds=N} runs N seeds per cluster size instead of the default;
 * {@code -Dringraft.sim.startSeed=S} starts from seed S; {@code -Dringraft.sim.membership=false}
 * leaves out membership changes.
 */
final class SimulationTest
{
    private static final int DEFAULT_SEEDS_PER_SIZE = 1000;
    private static final double MAX_UNDECIDED_FRACTION = 0.02;
    private static final int SEEDS_TO_SHOW_COVERAGE = 200;

    @ParameterizedTest(name = "{0} nodes")
    @ValueSource(ints = {3, 5})
    void randomizedFaultsKeepEveryInvariant(final int nodes)
    {
        final int seeds = Integer.getInteger("ringraft.sim.seeds", DEFAULT_SEEDS_PER_SIZE);
        final long startSeed = Long.getLong("ringraft.sim.startSeed", 1L);
        final Simulation simulation = new Simulation(new Simulation.Options().nodes(nodes));
        final SimulationStats stats = new SimulationStats();
        final long start = System.nanoTime();
        for (long seed = startSeed; seed < startSeed + seeds; seed++)
        {
            try
            {
                stats.add(simulation.run(seed));
            }
            catch (final SimulationFailure failure)
            {
                fail("simulation failed at seed " + failure.seed() + " (" + nodes + " nodes); replay with " +
                    "SimulatorMain 1 " + nodes + " " + failure.seed() + "\n" + failure.getMessage(), failure);
            }
        }
        System.out.println(nodes + " nodes: " + stats.summary(System.nanoTime() - start));
        assertEquals(seeds, stats.seeds());
        assertTrue(stats.ops() > seeds * 20L, "the clients ran too few operations to mean anything: " + stats.ops());
        assertTrue(stats.undecidedWithinLimit(MAX_UNDECIDED_FRACTION), "linearizability undecided on " + stats.undecided() +
            " of " + seeds + " seeds (first: seed " + stats.firstUndecidedSeed() + ")");
        if (seeds >= SEEDS_TO_SHOW_COVERAGE)
        {
            assertCoverage(stats);
        }
    }

    private static void assertCoverage(final SimulationStats stats)
    {
        final String summary = stats.summary(1);
        assertTrue(stats.learnersAdded() > 0, "no learner added: " + summary);
        assertTrue(stats.promotions() > 0, "no learner promoted: " + summary);
        assertTrue(stats.leaderRemovals() > 0, "no leader removed itself: " + summary);
        assertTrue(stats.churnCycles() > 0, "the voters never went to every node and back: " + summary);
        assertTrue(stats.transfersDone() > 0, "no leader transfer handed over: " + summary);
        assertTrue(stats.transfersTimedOut() > 0, "no leader transfer timed out: " + summary);
        assertTrue(stats.snapshotsInstalled() > 0, "no follower installed a snapshot: " + summary);
        assertTrue(stats.leaseReadsServed() > 0, "no read served by a lease: " + summary);
        assertTrue(stats.followerReads() > 0, "no read served by a follower: " + summary);
    }

    @Test
    void aSeedReplaysExactly()
    {
        final Simulation simulation = new Simulation(new Simulation.Options().nodes(5));
        final Simulation.Result first = simulation.run(4242);
        final Simulation.Result second = simulation.run(4242);
        assertEquals(first, second);
        assertEquals(first.traceDigest(), second.traceDigest());
        assertTrue(first.events() > 1_000, "a run should be more than a handful of events: " + first.events());
    }

    /**
     * The lease bound a seed configures covers its clock drift: a lease timed on the slowest clock ends
     * (in real time) before the election timeout of a follower on the fastest clock.
     */
    @Test
    void theConfiguredLeaseBoundCoversTheClockDrift()
    {
        final long electionTimeoutMin = 150_000_000L;
        for (final double drift : new double[] {0, 0.001, 0.01, 0.05})
        {
            final long bound = Simulation.leaseDriftBound(electionTimeoutMin, drift);
            final double leaseEndsAt = (electionTimeoutMin - bound) / (1 - drift);
            final double followerTimesOutAt = electionTimeoutMin / (1 + drift);
            assertTrue(leaseEndsAt <= followerTimesOutAt, "drift " + drift + ": bound " + bound);
            final double oneLess = (electionTimeoutMin - bound + 1_000) / (1 - drift);
            assertTrue(drift == 0 || oneLess > followerTimesOutAt, "drift " + drift + ": the bound is not tight: " + bound);
        }
    }

    @Test
    void differentSeedsMakeDifferentRuns()
    {
        final Simulation simulation = new Simulation(new Simulation.Options().nodes(3));
        assertNotEquals(simulation.run(7).traceDigest(), simulation.run(8).traceDigest());
    }

    @Test
    void faultFreeRunsAcknowledgeAlmostEveryOperation()
    {
        final Simulation simulation = new Simulation(new Simulation.Options().nodes(3).faults(false));
        for (long seed = 1; seed <= 20; seed++)
        {
            final Simulation.Result result = simulation.run(seed);
            assertEquals(0, result.crashes());
            assertTrue(result.okOps() >= result.ops() - 3 * 2, "seed " + seed + ": only " + result.okOps() + " of " +
                result.ops() + " ops OK without faults");
            assertEquals(1, result.leaderTerms(), "seed " + seed + ": a fault-free run should elect one leader");
        }
    }
}
