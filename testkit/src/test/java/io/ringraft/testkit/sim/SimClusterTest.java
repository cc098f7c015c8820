package io.ringraft.testkit.sim;

import io.ringraft.Vote;
import io.ringraft.engine.PlantedBug;
import io.ringraft.engine.Role;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.VoteRequest;
import io.ringraft.testkit.history.CheckResult;
import io.ringraft.testkit.history.OpKind;
import io.ringraft.testkit.history.Operation;
import io.ringraft.testkit.kv.KvCommand;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The harness API, driven by hand: scenarios from the Raft paper on a simulated cluster.
 */
final class SimClusterTest
{
    private static SimCluster cluster(final int nodes, final long seed)
    {
        return SimCluster.builder().nodes(nodes).seed(seed).build();
    }

    private static SimOp awaitDone(final SimCluster cluster, final SimOp op)
    {
        assertTrue(cluster.runUntil(op::isDone, 3_000), "not done in 3 s: " + op);
        return op;
    }

    @Test
    void electsOneLeaderAndReplicatesAWrite()
    {
        final SimCluster cluster = cluster(3, 1);
        final long leader = cluster.awaitLeader(2_000);
        final SimOp put = awaitDone(cluster, cluster.write("x", "1"));
        assertEquals(Operation.Status.OK, put.status());
        assertTrue(cluster.runUntil(() -> allApplied(cluster, put.index()), 1_000));
        for (int id = 1; id <= 3; id++)
        {
            final NodeMetrics m = cluster.metrics(id);
            assertEquals(id == leader ? Role.LEADER : Role.FOLLOWER, m.role());
            assertEquals(leader, m.leaderId());
            assertEquals("1", cluster.node(id).stateMachine().get("x"));
        }
        final NodeMetrics leaderMetrics = cluster.metrics(leader);
        assertEquals(2, leaderMetrics.matched().size());
        leaderMetrics.matched().values().forEach(matched -> assertTrue(matched >= put.index()));
        final SimOp read = awaitDone(cluster, cluster.read("x"));
        assertEquals("1", read.result());
        assertEquals(CheckResult.Outcome.LINEARIZABLE, cluster.checkLinearizability(10_000).outcome());
    }

    @Test
    void isolatingTheLeaderElectsAnotherInAHigherTerm()
    {
        final SimCluster cluster = cluster(3, 2);
        final long oldLeader = cluster.awaitLeader(2_000);
        final long oldTerm = cluster.node(oldLeader).currentTerm();
        cluster.isolate(oldLeader);
        assertTrue(cluster.runUntil(() -> otherLeader(cluster, oldLeader) != Vote.NO_NODE, 2_000));
        final long newLeader = otherLeader(cluster, oldLeader);
        assertTrue(cluster.node(newLeader).currentTerm() > oldTerm);
        // With check-quorum the isolated leader steps down by itself.
        assertTrue(cluster.runUntil(() -> cluster.node(oldLeader).role() != Role.LEADER, 1_000));

        cluster.heal();
        assertTrue(cluster.runUntil(() -> cluster.node(oldLeader).leaderId() == newLeader, 1_000));
        assertEquals(cluster.node(newLeader).currentTerm(), cluster.node(oldLeader).currentTerm());
    }

    @Test
    void aMinorityPartitionCannotCommit()
    {
        final SimCluster cluster = cluster(5, 3);
        final long leader = cluster.awaitLeader(2_000);
        final long committedBefore = cluster.node(leader).committedIndex();
        final long[] minority = {leader, leader % 5 + 1};
        final long[] majority = new long[3];
        for (int id = 1, i = 0; id <= 5; id++)
        {
            if (id != minority[0] && id != minority[1])
            {
                majority[i++] = id;
            }
        }
        cluster.partition(minority, majority);
        final SimClient client = cluster.client();
        // Write through the old leader while it still believes it leads: it must not commit.
        final long index = cluster.node(leader).submit(new KvCommand(
            OpKind.PUT, 99, 1, "x", "lost", null).encode(), new SimNode.WriteCallback()
            {
                @Override
                public void applied(final long index, final String result)
                {
                    throw new AssertionError("a minority leader applied " + index);
                }

                @Override
                public void superseded(final long index)
                {
                }

                @Override
                public void unknown()
                {
                }
            }, cluster.nowNanos());
        assertTrue(index > committedBefore);
        cluster.advance(1_000);
        assertTrue(cluster.node(leader).committedIndex() < index, "the minority committed its write");
        assertNotEquals(leader, cluster.leader());
        final SimOp put = awaitDone(cluster, client.put("y", "majority"));
        assertEquals(Operation.Status.OK, put.status());
        assertTrue(Arrays.stream(majority).anyMatch(id -> id == put.node()));

        cluster.heal();
        assertTrue(cluster.runUntil(() -> allApplied(cluster, put.index()), 2_000));
        for (int id = 1; id <= 5; id++)
        {
            assertNull(cluster.node(id).stateMachine().get("x"), "the minority's write is gone on node " + id);
            assertEquals("majority", cluster.node(id).stateMachine().get("y"));
        }
    }

    @Test
    void restartFromPersistedStateKeepsCommittedEntries()
    {
        final SimCluster cluster = cluster(3, 4);
        cluster.awaitLeader(2_000);
        final SimClient client = cluster.client();
        SimOp last = null;
        for (int i = 0; i < 20; i++)
        {
            last = awaitDone(cluster, client.put("k" + (i % 3), "v" + i));
            assertEquals(Operation.Status.OK, last.status());
        }
        final long lastIndex = last.index();
        for (int id = 1; id <= 3; id++)
        {
            cluster.crash(id);
        }
        for (int id = 1; id <= 3; id++)
        {
            assertTrue(cluster.node(id).log().lastLogId().index() >= 1);
            cluster.restart(id);
        }
        cluster.awaitLeader(3_000);
        assertTrue(cluster.runUntil(() -> allApplied(cluster, lastIndex), 3_000), "committed entries were not re-applied");
        for (int id = 1; id <= 3; id++)
        {
            assertEquals("v19", cluster.node(id).stateMachine().get("k1"));
            assertEquals("v18", cluster.node(id).stateMachine().get("k0"));
            assertEquals(1, cluster.node(id).crashes());
        }
    }

    @Test
    void aCrashLosesWhatWasNotFlushed()
    {
        final SimCluster cluster = SimCluster.builder().nodes(3).seed(5).flushDelayMicros(50_000, 50_000).build();
        final long leader = cluster.awaitLeader(2_000);
        cluster.advance(200);
        final long durable = cluster.node(leader).log().durableLastLogId().index();
        final SimOp put = cluster.client().put("x", "1");
        assertTrue(cluster.runUntil(() -> cluster.node(leader).lastLogId().index() > durable, 100));
        cluster.crash(leader);
        assertEquals(durable, cluster.node(leader).log().lastLogId().index());
        assertEquals(Operation.Status.UNKNOWN, put.status());
        assertFalse(cluster.node(leader).isUp());
        assertNull(cluster.node(leader).role());
    }

    @Test
    void droppingVoteRequestsPreventsElectionsUntilRemoved()
    {
        final SimCluster cluster = cluster(3, 6);
        final Predicate<RaftMessage> votes = cluster.dropMessages(m -> m instanceof VoteRequest);
        cluster.advance(2_000);
        assertEquals(Vote.NO_NODE, cluster.leader());
        cluster.network().removeFilter(votes);
        cluster.awaitLeader(2_000);
    }

    @Test
    void heldAppendsAreDeliveredOnRelease()
    {
        final SimCluster cluster = cluster(3, 7);
        final long leader = cluster.awaitLeader(2_000);
        final long follower = leader % 3 + 1;
        cluster.holdMessages(m -> m.to() == follower && m instanceof AppendEntriesRequest);
        final SimOp put = awaitDone(cluster, cluster.write("x", "1"));
        assertEquals(Operation.Status.OK, put.status());
        assertTrue(cluster.node(follower).appliedIndex() < put.index());
        assertTrue(cluster.network().heldCount() > 0);
        cluster.heal();
        cluster.releaseHeld();
        assertTrue(cluster.runUntil(() -> cluster.node(follower).appliedIndex() >= put.index(), 1_000));
    }

    @Test
    void aOneWayCutFromTheLeaderLetsTheFollowerStandButNotWin()
    {
        final SimCluster cluster = SimCluster.builder().nodes(3).seed(8).engineConfig(c -> c.preVote(true)).build();
        final long leader = cluster.awaitLeader(2_000);
        final long follower = leader % 3 + 1;
        final long term = cluster.node(leader).currentTerm();
        cluster.cut(leader, follower);
        cluster.advance(2_000);
        // Pre-vote: the cut-off follower cannot disturb the leader the third node still hears from.
        assertEquals(leader, cluster.leader());
        assertEquals(term, cluster.node(leader).currentTerm());
        cluster.heal();
        final SimOp put = awaitDone(cluster, cluster.write("x", "1"));
        assertTrue(cluster.runUntil(() -> cluster.node(follower).appliedIndex() >= put.index(), 1_000));
    }

    @Test
    void triggerElectionStartsANewTermAndTheClusterElectsAndCommitsInIt()
    {
        // A triggered election skips pre-vote; voters that still hear from the leader refuse it
        // (the lease), but the higher term it brings deposes the leader, so a new term is elected
        // — not necessarily with the triggered node as leader. Moving leadership to a chosen node
        // is what transferLeader is for.
        final SimCluster cluster = cluster(3, 9);
        final long leader = cluster.awaitLeader(2_000);
        final long term = cluster.node(leader).currentTerm();
        final long other = leader % 3 + 1;
        cluster.advance(500);
        cluster.triggerElection(other);
        assertTrue(cluster.runUntil(() -> cluster.leader() != Vote.NO_NODE &&
            cluster.node(cluster.leader()).currentTerm() > term, 1_000));
        final SimOp put = awaitDone(cluster, cluster.write("x", "1"));
        assertTrue(put.index() > 0);
    }

    @Test
    void anInvariantViolationStopsTheClusterWithTheSeedAndTrace()
    {
        final SimCluster cluster = SimCluster.builder().nodes(3).seed(10)
            .engineConfig(c -> c.plantedBug(PlantedBug.ACK_BEFORE_DURABLE)).build();
        cluster.awaitLeader(2_000);
        final SimulationFailure failure = assertThrows(SimulationFailure.class, () ->
        {
            for (int i = 0; i < 50; i++)
            {
                awaitDone(cluster, cluster.write("x", "v" + i));
            }
        });
        assertEquals(10, failure.seed());
        assertTrue(failure.reason().startsWith("durability"), failure.reason());
        assertTrue(failure.trace().contains("recv AE"), failure.trace());
        assertTrue(failure.nodeStates().contains("LEADER"), failure.nodeStates());
        // A failed cluster refuses to go on.
        assertThrows(SimulationFailure.class, () -> cluster.advance(1));
    }

    @Test
    void misuseIsRefusedWithoutFailingTheRun()
    {
        final SimCluster cluster = cluster(3, 11);
        cluster.awaitLeader(2_000);
        assertThrows(IllegalStateException.class, () -> cluster.restart(1));
        cluster.crash(2);
        assertThrows(IllegalStateException.class, () -> cluster.crash(2));
        cluster.restart(2);
        cluster.advance(100);
    }

    @Test
    void aFollowerBehindThePurgedLogCatchesUpFromASnapshot()
    {
        final SimCluster cluster = SimCluster.builder().nodes(3).seed(12).snapshotEvery(10).snapshotChunkBytes(32)
            .engineConfig(c -> c.logRetainEntries(2)).build();
        final long leader = cluster.awaitLeader(2_000);
        final long lagging = leader % 3 + 1;
        cluster.isolate(lagging);
        final SimClient client = cluster.client();
        SimOp last = null;
        for (int i = 0; i < 40; i++)
        {
            last = awaitDone(cluster, client.put("k" + (i % 4), "v" + i));
            assertEquals(Operation.Status.OK, last.status(), last.toString());
        }
        final long leaderNow = cluster.leader();
        assertTrue(cluster.metrics(leaderNow).lastPurged().index() > cluster.node(lagging).lastLogId().index(),
            "the leader should have purged what the isolated node lacks: " + cluster.metrics(leaderNow));
        cluster.heal();
        final long index = last.index();
        assertTrue(cluster.runUntil(() -> cluster.node(lagging).appliedIndex() >= index, 2_000));
        assertEquals(1, cluster.node(lagging).snapshotsInstalled());
        assertEquals(cluster.node(leaderNow).stateMachine().snapshotOfMap(), cluster.node(lagging).stateMachine().snapshotOfMap());

        // A restart restores the state machine from the snapshot and re-applies only what follows it.
        cluster.crash(lagging);
        cluster.restart(lagging);
        assertTrue(cluster.metrics(lagging).snapshot() != null);
        assertTrue(cluster.runUntil(() -> cluster.node(lagging).appliedIndex() >= index, 2_000));
        assertEquals("v39", cluster.node(lagging).stateMachine().get("k3"));
    }

    @Test
    void leadershipTransferHandsOverToTheTarget()
    {
        final SimCluster cluster = cluster(5, 13);
        final long leader = cluster.awaitLeader(2_000);
        final long target = leader % 5 + 1;
        awaitDone(cluster, cluster.write("x", "1"));
        final long request = cluster.transferLeader(leader, target);
        assertTrue(cluster.runUntil(() -> cluster.leader() == target, 1_000), cluster.metrics().toString());
        assertTrue(cluster.runUntil(() -> cluster.adminOutcome(request) != null, 1_000));
        assertTrue(cluster.adminOutcome(request).ok(), cluster.adminOutcome(request).toString());
    }

    @Test
    void aLearnerBecomesAVoterByJointConsensus()
    {
        final SimCluster cluster = SimCluster.builder().nodes(4).seed(14).initialVoters(1, 2, 3).build();
        final long leader = cluster.awaitLeader(2_000);
        assertNull(cluster.node(4).membership(), "node 4 starts outside the cluster");
        final long add = cluster.addLearner(leader, 4);
        assertTrue(cluster.runUntil(() -> cluster.adminOutcome(add) != null, 1_000));
        assertTrue(cluster.adminOutcome(add).ok(), cluster.adminOutcome(add).toString());
        final SimOp put = awaitDone(cluster, cluster.write("x", "1"));
        assertTrue(cluster.runUntil(() -> cluster.node(4).appliedIndex() >= put.index(), 1_000), cluster.metrics().toString());
        assertEquals("1", cluster.node(4).stateMachine().get("x"));

        final long change = cluster.changeMembership(cluster.leader(), new long[] {1, 2, 3, 4}, false);
        assertTrue(cluster.runUntil(() -> cluster.adminOutcome(change) != null, 2_000));
        assertTrue(cluster.adminOutcome(change).ok(), cluster.adminOutcome(change).toString());
        assertTrue(cluster.node(cluster.leader()).membership().isVoter(4));
        // Four voters still commit with one of them down.
        cluster.crash(cluster.leader() == 1 ? 2 : 1);
        final SimOp afterOneCrash = awaitDone(cluster, cluster.write("x", "2"));
        assertEquals(Operation.Status.OK, afterOneCrash.status());
    }

    private static long otherLeader(final SimCluster cluster, final long excluded)
    {
        for (int id = 1; id <= cluster.size(); id++)
        {
            if (id != excluded && cluster.node(id).isUp() && cluster.node(id).role() == Role.LEADER)
            {
                return id;
            }
        }
        return Vote.NO_NODE;
    }

    private static boolean allApplied(final SimCluster cluster, final long index)
    {
        for (int id = 1; id <= cluster.size(); id++)
        {
            if (!cluster.node(id).isUp() || cluster.node(id).appliedIndex() < index)
            {
                return false;
            }
        }
        return true;
    }
}
