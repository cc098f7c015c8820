package io.ringraft.testkit.sim;

import io.ringraft.engine.EngineConfig;
import io.ringraft.engine.PlantedBug;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.RaftMessage;
import io.ringraft.testkit.history.Operation;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Raft §5.4.2, Figure 8, scripted with the harness on five nodes: a leader must not commit an
 * entry of an older term by counting replicas, because a later leader can still overwrite it.
 * With the rule the script ends safely; with the planted bug the simulator sees a leader elected
 * without an entry that was committed before its term.
 */
final class Figure8Test
{
    @Test
    void aLeaderThatCountsReplicasOfAnOlderTermLosesACommittedEntry()
    {
        final SimCluster cluster = cluster(PlantedBug.COMMIT_OLD_TERM_BY_COUNTING);
        final SimulationFailure failure = assertThrows(SimulationFailure.class, () -> runFigure8(cluster));
        // S5 wins term 4 without the entry S1 counted as committed in term 3.
        assertTrue(failure.reason().startsWith("leader completeness: node 5 won term 4 without the entry 1-3"), failure.reason());
    }

    @Test
    void theCommitRuleKeepsFigure8Safe()
    {
        final SimCluster cluster = cluster(PlantedBug.NONE);
        final SimOp write = runFigure8(cluster);
        // The entry of term 1 at index 3 never committed, and the later leader replaced it.
        assertEquals(Operation.Status.UNKNOWN, write.status());
        assertTrue(cluster.runUntil(() -> cluster.node(2).appliedIndex() >= 4, 1_000));
        assertNotEquals(cluster.checker().committedTerm(1 + 2), 1);
    }

    @Test
    void theCommitRuleCheckNamesTheBugAtOnce()
    {
        final SimCluster cluster = SimCluster.builder().nodes(5).seed(8)
            .engineConfig(c -> configure(c).plantedBug(PlantedBug.COMMIT_OLD_TERM_BY_COUNTING)).build();
        final SimulationFailure failure = assertThrows(SimulationFailure.class, () -> runFigure8(cluster));
        assertTrue(failure.reason().startsWith("commit rule"), failure.reason());
    }

    private static SimCluster cluster(final PlantedBug bug)
    {
        return SimCluster.builder().nodes(5).seed(8).checkCommitRule(false)
            .engineConfig(c -> configure(c).plantedBug(bug)).build();
    }

    /** Elections only when the script asks; one entry per AppendEntries so replication can stop between entries. */
    private static EngineConfig configure(final EngineConfig config)
    {
        return config.electionTimeoutMinNanos(TimeUnit.SECONDS.toNanos(30)).electionTimeoutMaxNanos(TimeUnit.SECONDS.toNanos(60))
            .preVote(false).checkQuorum(false).maxEntriesPerAppend(1);
    }

    /** Runs the scenario and returns the client write that S1 accepted at index 3 in term 1. */
    private static SimOp runFigure8(final SimCluster cluster)
    {
        // S1 leads term 1 and commits its blank entry at index 2 everywhere.
        elect(cluster, 1);
        assertTrue(cluster.runUntil(() -> appliedEverywhere(cluster, 2), 1_000));
        assertEquals(1, cluster.node(1).currentTerm());

        // (a) S1 takes a write at index 3 and replicates it to S2 only, then crashes.
        cluster.cut(1, 3);
        cluster.cut(1, 4);
        cluster.cut(1, 5);
        final SimOp write = cluster.client().timeoutMillis(60_000).put("x", "from-term-1");
        assertTrue(cluster.runUntil(() -> durable(cluster, 1, 3, 1) && durable(cluster, 2, 3, 1), 1_000));
        cluster.crash(1);
        cluster.heal();

        // (b) S5 wins term 2 with the votes of S3 and S4, appends its blank at index 3 and crashes before sending it.
        final Predicate<RaftMessage> silenceS5 = cluster.dropMessages(m -> m.from() == 5 && m instanceof AppendEntriesRequest);
        elect(cluster, 5);
        assertEquals(2, cluster.node(5).currentTerm());
        assertTrue(cluster.runUntil(() -> durable(cluster, 5, 3, 2), 1_000));
        cluster.crash(5);
        cluster.network().removeFilter(silenceS5);

        // (c) S1 restarts and wins term 3; it brings S3 up to index 3 (term 1) but its own blank at index 4 goes nowhere.
        cluster.restart(1);
        cluster.holdMessages(m -> m.from() == 1 && m instanceof AppendEntriesRequest a && a.lastIndex() >= 4);
        elect(cluster, 1);
        assertEquals(3, cluster.node(1).currentTerm());
        assertTrue(cluster.runUntil(() -> durable(cluster, 3, 3, 1), 1_000));
        cluster.advance(100);
        cluster.crash(1);

        // (d) S5 restarts and wins term 4 with S2, S3 and S4: its entry of term 2 overwrites index 3 on them.
        cluster.restart(5);
        elect(cluster, 5);
        assertEquals(4, cluster.node(5).currentTerm());
        assertTrue(cluster.runUntil(() -> cluster.node(3).log().termAt(3) == 2, 1_000));
        cluster.restart(1);
        cluster.runUntil(write::isDone, 2_000);
        return write;
    }

    private static void elect(final SimCluster cluster, final long id)
    {
        for (int attempt = 0; attempt < 5 && cluster.leader() != id; attempt++)
        {
            cluster.triggerElection(id);
            cluster.runUntil(() -> cluster.leader() == id, 100);
        }
        assertEquals(id, cluster.leader(), "node " + id + " did not win an election");
    }

    private static boolean durable(final SimCluster cluster, final long id, final long index, final long term)
    {
        return cluster.node(id).log().durableTermAt(index) == term;
    }

    private static boolean appliedEverywhere(final SimCluster cluster, final long index)
    {
        for (int id = 1; id <= cluster.size(); id++)
        {
            if (cluster.node(id).appliedIndex() < index)
            {
                return false;
            }
        }
        return true;
    }
}
