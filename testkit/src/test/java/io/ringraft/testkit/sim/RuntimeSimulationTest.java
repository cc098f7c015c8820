package io.ringraft.testkit.sim;

import io.ringraft.engine.Role;
import io.ringraft.testkit.history.CheckResult;
import io.ringraft.testkit.history.Operation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The simulator driving the real runtime ({@link RuntimeSimNode}: {@code Raft} with {@code RaftCore} in
 * INVOKER mode) with the same faults, workload, invariant checks and linearizability check as
 * {@link SimulationTest}; and the runtime is deterministic under it, so a seed replays.
 * <p>
 * {@code -Dringraft.sim.runtimeSeeds=N} runs N seeds per cluster size instead of the default.
 */
final class RuntimeSimulationTest
{
    private static final int DEFAULT_SEEDS_PER_SIZE = 250;

    @ParameterizedTest(name = "{0} nodes")
    @ValueSource(ints = {3, 5})
    void randomizedFaultsKeepEveryInvariantThroughTheRuntime(final int nodes)
    {
        final int seeds = Integer.getInteger("ringraft.sim.runtimeSeeds", DEFAULT_SEEDS_PER_SIZE);
        final Simulation simulation = new Simulation(new Simulation.Options().nodes(nodes).runtime(true));
        final SimulationStats stats = new SimulationStats();
        final long start = System.nanoTime();
        for (long seed = 1; seed <= seeds; seed++)
        {
            try
            {
                stats.add(simulation.run(seed));
            }
            catch (final SimulationFailure failure)
            {
                fail("runtime simulation failed at seed " + failure.seed() + " (" + nodes + " nodes); replay with " +
                    "-Dringraft.sim.runtime=true SimulatorMain 1 " + nodes + " " + failure.seed() + "\n" + failure.getMessage(), failure);
            }
        }
        System.out.println(nodes + " nodes, runtime: " + stats.summary(System.nanoTime() - start));
        assertEquals(seeds, stats.seeds());
        assertTrue(stats.ops() > seeds * 20L, "the clients ran too few operations to mean anything: " + stats.ops());
        assertTrue(stats.undecidedWithinLimit(0.02), "linearizability undecided on " + stats.undecided() + " of " + seeds);
        if (seeds >= 100)
        {
            final String summary = stats.summary(1);
            assertTrue(stats.changesDone() > 0, "no membership change: " + summary);
            assertTrue(stats.transfersDone() > 0, "no leader transfer: " + summary);
            assertTrue(stats.snapshotsInstalled() > 0, "no snapshot installed: " + summary);
            assertTrue(stats.leaseReadsServed() > 0, "no lease read: " + summary);
            assertTrue(stats.followerReads() > 0, "no follower read: " + summary);
        }
    }

    @Test
    void aSeedReplaysExactlyThroughTheRuntime()
    {
        final Simulation simulation = new Simulation(new Simulation.Options().nodes(5).runtime(true));
        final Simulation.Result first = simulation.run(4242);
        final Simulation.Result second = simulation.run(4242);
        assertEquals(first, second);
        assertEquals(first.traceDigest(), second.traceDigest());
        assertTrue(first.events() > 1_000, "a run should be more than a handful of events: " + first.events());
        assertNotEquals(first.traceDigest(), new Simulation(new Simulation.Options().nodes(5)).run(4242).traceDigest(),
            "the runtime and the bare engine make different runs");
    }

    @Test
    void theHarnessDrivesTheRuntime()
    {
        final SimCluster cluster = SimCluster.builder().nodes(3).seed(3).runtime(true).snapshotEvery(5).build();
        final long leader = cluster.awaitLeader(2_000);
        assertEquals(Role.LEADER, cluster.metrics(leader).role());
        final SimClient client = cluster.client();
        SimOp last = null;
        for (int i = 0; i < 12; i++)
        {
            last = client.put("k" + (i % 2), "v" + i);
            assertTrue(cluster.runUntil(last::isDone, 2_000), last.toString());
            assertEquals(Operation.Status.OK, last.status(), last.toString());
        }
        final long index = last.index();
        assertTrue(index > 0, "the outcome tells the index: " + last);
        final SimOp read = client.followerRead("k1");
        assertTrue(cluster.runUntil(read::isDone, 2_000));
        assertEquals("v11", read.result(), read.toString());
        assertNotEquals(leader, read.node());
        assertNotNull(cluster.metrics(leader).snapshot(), "the leader snapshots every 5 entries");

        final long follower = leader % 3 + 1;
        cluster.crash(follower);
        cluster.restart(follower);
        assertTrue(cluster.runUntil(() -> cluster.node(follower).appliedIndex() >= index, 2_000), cluster.metrics().toString());
        assertEquals("v10", cluster.node(follower).stateMachine().get("k0"));
        assertEquals(CheckResult.Outcome.LINEARIZABLE, cluster.checkLinearizability(10_000).outcome());
    }

    /**
     * A leader whose pending writes were cut from its log by the next leader (answered ABORTED) and that
     * later leads again takes writes at indexes it had used before (found at seed 93 on 5 nodes).
     */
    @Test
    void aLeaderWhosePendingWritesWereTruncatedTakesWritesAgain()
    {
        final SimCluster cluster = SimCluster.builder().nodes(3).seed(93).runtime(true).build();
        final long first = cluster.awaitLeader(2_000);
        final SimOp before = cluster.client().target(first).put("x", "1");
        assertTrue(cluster.runUntil(before::isDone, 2_000));
        assertEquals(Operation.Status.OK, before.status());

        cluster.isolate(first);
        final long last = cluster.node(first).lastLogId().index();
        final SimClient stranded = cluster.client().target(first);
        for (int i = 0; i < 10; i++)
        {
            stranded.timeoutMillis(5_000).put("lost" + i, "v");
        }
        assertTrue(cluster.runUntil(() -> cluster.node(first).lastLogId().index() >= last + 10, 1_000));
        final long second = first % 3 + 1;
        cluster.advance(400);
        cluster.triggerElection(second);
        assertTrue(cluster.runUntil(() -> cluster.leader() == second, 2_000), cluster.metrics().toString());
        final SimOp onSecond = cluster.client().target(second).put("y", "2");
        assertTrue(cluster.runUntil(onSecond::isDone, 2_000));
        assertEquals(Operation.Status.OK, onSecond.status());

        cluster.heal();
        assertTrue(cluster.runUntil(() -> cluster.node(first).appliedIndex() >= onSecond.index(), 2_000),
            cluster.metrics().toString());
        final long transfer = cluster.transferLeader(second, first);
        assertTrue(cluster.runUntil(() -> cluster.leader() == first, 2_000), cluster.metrics().toString());
        final SimOp after = cluster.client().target(first).put("z", "3");
        assertTrue(cluster.runUntil(after::isDone, 2_000), after.toString());
        assertEquals(Operation.Status.OK, after.status(), after.toString());
        assertTrue(after.index() <= last + 10, "the new write reuses an index of a truncated one: " + after);
        assertNotNull(cluster.adminOutcome(transfer));
    }

    @Test
    void aLogThatAcknowledgesBeforeItIsDurableIsCaught()
    {
        final SimCluster cluster = SimCluster.builder().nodes(3).seed(10).runtime(true).runtimeAckBeforeDurable().build();
        final SimulationFailure failure = org.junit.jupiter.api.Assertions.assertThrows(SimulationFailure.class, () ->
        {
            cluster.awaitLeader(2_000);
            for (int i = 0; i < 50; i++)
            {
                final SimOp put = cluster.write("x", "v" + i);
                cluster.runUntil(put::isDone, 2_000);
            }
        });
        assertTrue(failure.reason().startsWith("durability"), failure.reason());
    }
}
