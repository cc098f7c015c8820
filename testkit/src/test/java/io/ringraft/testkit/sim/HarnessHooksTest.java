package io.ringraft.testkit.sim;

import io.ringraft.LogId;
import io.ringraft.Vote;
import io.ringraft.engine.PlantedBug;
import io.ringraft.engine.Role;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.RaftMessage;
import io.ringraft.testkit.history.Operation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each hook of the harness does exactly what it says, on the bare engine and on the real runtime:
 * clusters here run with their timers off and every message held, so that the test moves them one by one.
 */
final class HarnessHooksTest
{
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    /** A cluster whose nodes stand only when told and whose messages wait until released. */
    private static SimCluster exact(final SimCluster.Builder builder)
    {
        final SimCluster cluster = builder.maxClockDrift(0).flushDelayMicros(0, 0)
            .engineConfig(c -> c.electionTimeoutMinNanos(1_000 * MS).electionTimeoutMaxNanos(2_000 * MS).heartbeatIntervalNanos(
                200 * MS).preVote(false).checkQuorum(false)).build();
        for (int id = 1; id <= cluster.size(); id++)
        {
            cluster.electionTimer(id, false);
            cluster.heartbeats(id, false);
        }
        cluster.network().hold(m -> true);
        cluster.advance(2_000); // past the vote hold of a freshly started node
        return cluster;
    }

    private static SimCluster exact(final boolean runtime, final int nodes)
    {
        return exact(SimCluster.builder().nodes(nodes).runtime(runtime));
    }

    /** Releases every held message (and what they cause) until none is held. */
    private static void stabilize(final SimCluster cluster)
    {
        for (int round = 0; round < 100 && cluster.network().heldCount() > 0; round++)
        {
            cluster.network().held().forEach(m -> m.release(0));
            cluster.advance(1);
        }
        assertEquals(0, cluster.network().heldCount(), "still held: " + cluster.network().held());
    }

    private static void elect(final SimCluster cluster, final long id)
    {
        cluster.triggerElection(id);
        stabilize(cluster);
        assertEquals(id, cluster.leader());
    }

    @ParameterizedTest(name = "runtime={0}")
    @ValueSource(booleans = {false, true})
    void aNodeStartsFromAHandBuiltVoteLogAndSnapshot(final boolean runtime)
    {
        final SimCluster cluster = exact(SimCluster.builder().nodes(3).runtime(runtime)
            .initialState(1, NodeState.builder().vote(4, 1).snapshot(new LogId(2, 5), Map.of("x", "1")).terms(3, 4).build())
            .initialState(2, NodeState.builder().vote(4, 1).terms(1, 2, 2).build()));
        final NodeMetrics one = cluster.metrics(1);
        assertEquals(new Vote(4, 1, false), one.vote());
        assertEquals(4, one.term());
        assertEquals(new LogId(4, 7), one.lastLogId());
        assertEquals(new LogId(2, 5), one.snapshot());
        assertEquals(new LogId(2, 5), one.lastPurged());
        assertEquals(5, one.applied(), "the state machine starts from the snapshot");
        assertEquals("1", cluster.node(1).stateMachine().get("x"));
        assertEquals(new LogId(2, 3), cluster.metrics(2).lastLogId());
        assertEquals(List.of(1L, 2L, 2L), terms(cluster.node(2)));
        assertArrayEquals(NodeState.put(2, 3).payload(), cluster.node(2).log().entry(3).payload(), "a PUT of i3=t2");
        assertEquals(new LogId(0, 1), cluster.metrics(3).lastLogId(), "a node without a state starts as a founder");

        // Node 1 has the most up-to-date log: it wins term 5 and brings the others to its log by its snapshot.
        elect(cluster, 1);
        assertEquals(5, cluster.node(1).currentTerm());
        cluster.advance(500);
        cluster.triggerHeartbeat(1);
        stabilize(cluster);
        cluster.triggerHeartbeat(1);
        stabilize(cluster);
        for (int id = 1; id <= 3; id++)
        {
            assertEquals(new LogId(5, 8), cluster.metrics(id).lastLogId(), cluster.metrics().toString());
            assertEquals(8, cluster.metrics(id).applied(), cluster.metrics().toString());
            assertEquals("1", cluster.node(id).stateMachine().get("x"));
        }
        assertEquals(1, cluster.node(2).snapshotsInstalled());
        assertEquals(1, cluster.node(3).snapshotsInstalled());
    }

    @Test
    void aHandBuiltStateThatBreaksLogMatchingFailsTheBuild()
    {
        // Node 2 holds an entry 2-3 after term 1, node 1 the entry 2-3 after term 2: log matching says no.
        final SimulationFailure failure = assertThrows(SimulationFailure.class, () -> SimCluster.builder().nodes(3)
            .initialState(1, NodeState.builder().terms(1, 2, 2).build())
            .initialState(2, NodeState.builder().terms(1, 1, 2).build()).build());
        assertTrue(failure.reason().startsWith("log matching"), failure.reason());
    }

    @ParameterizedTest(name = "runtime={0}")
    @ValueSource(booleans = {false, true})
    void aPartialDeliveryOfTwoOfFiveEntriesLeavesTheFollowerWithExactlyTwoMore(final boolean runtime)
    {
        final SimCluster cluster = exact(runtime, 3);
        elect(cluster, 1);
        final long before = cluster.node(3).lastLogId().index();
        for (int i = 0; i < 5; i++)
        {
            cluster.writeTo(1, "k" + i, "v" + i);
        }
        // Lose what went to node 3, then let the leader retransmit: one AppendEntries with the five entries.
        cluster.network().held().stream().filter(h -> h.message().to() == 3).forEach(SimNetwork.HeldMessage::drop);
        cluster.advance(500);
        cluster.triggerHeartbeat(1);
        final SimNetwork.HeldMessage append = cluster.network().held().stream()
            .filter(h -> h.message().to() == 3 && h.message() instanceof AppendEntriesRequest a && a.entries().size() == 5)
            .findFirst().orElseThrow(() -> new AssertionError("no append of 5 entries: " + cluster.network().held()));
        append.keepFirstEntries(2);
        append.release(0);
        cluster.advance(1);
        assertEquals(before + 2, cluster.node(3).lastLogId().index());

        // The same with a rewrite filter on the network: every AppendEntries to 3 keeps its first entry only.
        final Predicate<RaftMessage> firstOnly = cluster.network().rewrite(
            m -> m.to() == 3 && m instanceof AppendEntriesRequest a && a.entries().size() > 1,
            m -> SimNetwork.firstEntries((AppendEntriesRequest)m, 1));
        cluster.network().held().stream().filter(h -> h.message().to() == 3).forEach(SimNetwork.HeldMessage::drop);
        cluster.network().releaseHeld(m -> m.from() == 3); // node 3's acknowledgement of the 2
        cluster.advance(500);
        cluster.triggerHeartbeat(1); // the leader resends what follows them: [5..7], of which 3 gets 5 only
        cluster.network().held().stream().filter(h -> h.message().to() == 3).forEach(h -> h.release(0));
        cluster.advance(1);
        assertEquals(before + 3, cluster.node(3).lastLogId().index());
        cluster.network().removeFilter(firstOnly);
    }

    @ParameterizedTest(name = "runtime={0}")
    @ValueSource(booleans = {false, true})
    void heldMessagesAreReleasedOneByOneInTheChosenOrderAfterTheChosenDelays(final boolean runtime)
    {
        final SimCluster cluster = exact(runtime, 3);
        elect(cluster, 1);
        cluster.triggerHeartbeat(1);
        final List<SimNetwork.HeldMessage> held = cluster.network().held();
        assertEquals(2, held.size(), held.toString());
        final SimNetwork.HeldMessage toTwo = held.stream().filter(h -> h.message().to() == 2).findFirst().orElseThrow();
        final SimNetwork.HeldMessage toThree = held.stream().filter(h -> h.message().to() == 3).findFirst().orElseThrow();
        final long deliveredToTwo = cluster.network().delivered(2, MessageType.APPEND);
        final long deliveredToThree = cluster.network().delivered(3, MessageType.APPEND);
        toThree.release(3 * MS);
        toTwo.release(7 * MS);
        assertFalse(toTwo.isHeld());
        cluster.advanceNanos(3 * MS - 1);
        assertEquals(deliveredToThree, cluster.network().delivered(3, MessageType.APPEND), "not before its delay");
        cluster.advanceNanos(1);
        assertEquals(deliveredToThree + 1, cluster.network().delivered(3, MessageType.APPEND), "at its delay");
        cluster.advanceNanos(4 * MS - 1);
        assertEquals(deliveredToTwo, cluster.network().delivered(2, MessageType.APPEND));
        cluster.advanceNanos(1);
        assertEquals(deliveredToTwo + 1, cluster.network().delivered(2, MessageType.APPEND));
        assertThrows(IllegalStateException.class, toTwo::release, "a released message cannot be released twice");

        // releaseHeld(predicate) releases the chosen ones only; drop() loses one and counts it.
        cluster.network().held().forEach(SimNetwork.HeldMessage::drop);
        cluster.triggerHeartbeat(1);
        assertEquals(1, cluster.network().releaseHeld(m -> m.to() == 2));
        assertEquals(1, cluster.network().heldCount());
        assertEquals(3, cluster.network().held().get(0).message().to());
        final long droppedBefore = cluster.network().dropped(3, MessageType.APPEND);
        cluster.network().held().get(0).drop();
        assertEquals(droppedBefore + 1, cluster.network().dropped(3, MessageType.APPEND));
    }

    @ParameterizedTest(name = "runtime={0}")
    @ValueSource(booleans = {false, true})
    void delaysPerLinkWinOverDelaysPerTypeWhichWinOverTheGlobalOnes(final boolean runtime)
    {
        final SimCluster cluster = exact(runtime, 3);
        elect(cluster, 1);
        cluster.network().removeFilter(cluster.network().hold(m -> false)); // a no-op: filters are removed by identity
        cluster.heal(); // no more holding: messages go out with the delays
        cluster.network().delay(50 * MS, 50 * MS);
        cluster.network().delay(MessageType.APPEND, 5 * MS, 5 * MS);
        cluster.network().delay(1, 3, 9 * MS, 9 * MS);
        final long toTwo = cluster.network().delivered(2, MessageType.APPEND);
        final long toThree = cluster.network().delivered(3, MessageType.APPEND);
        final long responses = cluster.network().delivered(1, MessageType.APPEND_RESPONSE);
        cluster.triggerHeartbeat(1);
        cluster.advanceNanos(5 * MS - 1);
        assertEquals(toTwo, cluster.network().delivered(2, MessageType.APPEND));
        cluster.advanceNanos(1);
        assertEquals(toTwo + 1, cluster.network().delivered(2, MessageType.APPEND), "the type's delay: 5 ms");
        cluster.advanceNanos(4 * MS - 1);
        assertEquals(toThree, cluster.network().delivered(3, MessageType.APPEND));
        cluster.advanceNanos(1);
        assertEquals(toThree + 1, cluster.network().delivered(3, MessageType.APPEND), "the link's delay: 9 ms");
        cluster.advanceNanos(46 * MS - 1); // node 2 answered at 5 ms: its answer arrives at 55 ms
        assertEquals(responses, cluster.network().delivered(1, MessageType.APPEND_RESPONSE), "the global delay: 50 ms");
        cluster.advanceNanos(1);
        assertEquals(responses + 1, cluster.network().delivered(1, MessageType.APPEND_RESPONSE));
        cluster.network().clearDelays();
    }

    @ParameterizedTest(name = "runtime={0}")
    @ValueSource(booleans = {false, true})
    void restoringLinksKeepsTheFiltersAndHealingRemovesBoth(final boolean runtime)
    {
        final SimCluster cluster = exact(runtime, 3);
        elect(cluster, 1);
        cluster.heal();
        cluster.cut(1, 2);
        final Predicate<RaftMessage> toThree = cluster.dropMessages(m -> m.to() == 3);
        cluster.restoreLinks();
        assertTrue(cluster.network().connected(1, 2));
        final long dropped = cluster.network().dropped(3, null);
        final long delivered = cluster.network().delivered(2, MessageType.APPEND);
        cluster.triggerHeartbeat(1);
        cluster.advance(10);
        assertEquals(dropped + 1, cluster.network().dropped(3, null), "the drop filter still works");
        assertEquals(delivered + 1, cluster.network().delivered(2, MessageType.APPEND), "the link works again");
        cluster.heal();
        cluster.triggerHeartbeat(1);
        cluster.advance(10);
        assertEquals(dropped + 1, cluster.network().dropped(3, null), "heal removed the filter too");
        cluster.network().removeFilter(toThree);
    }

    @ParameterizedTest(name = "runtime={0}")
    @ValueSource(booleans = {false, true})
    void messagesAreCountedPerNodeAndType(final boolean runtime)
    {
        final SimCluster cluster = exact(runtime, 5);
        cluster.triggerElection(2);
        assertEquals(4, cluster.network().sent(2, MessageType.VOTE));
        assertEquals(4, cluster.network().sent(0, MessageType.VOTE));
        assertEquals(0, cluster.network().sent(2, MessageType.PRE_VOTE));
        stabilize(cluster);
        assertEquals(4, cluster.network().delivered(2, MessageType.VOTE_RESPONSE));
        for (int id = 1; id <= 5; id++)
        {
            assertEquals(id == 2 ? 0 : 1, cluster.network().delivered(id, MessageType.VOTE), "node " + id);
            assertEquals(id == 2 ? 0 : 1, cluster.network().sent(id, MessageType.VOTE_RESPONSE), "node " + id);
        }
        assertEquals(cluster.network().sent(), cluster.network().sent(0, null));
        assertEquals(cluster.network().delivered(), cluster.network().delivered(0, null));
    }

    @ParameterizedTest(name = "runtime={0}")
    @ValueSource(booleans = {false, true})
    void anExpiredElectionTimerStandsWithPreVoteAndATriggeredElectionWithout(final boolean runtime)
    {
        final SimCluster cluster = exact(SimCluster.builder().nodes(3).runtime(runtime)
            .nodeConfig((id, config) -> config.preVote(id != 3)));
        // exact() switched pre-vote off for all; nodeConfig runs after engineConfig, so it is on for 1 and 2.
        cluster.expireElectionTimer(1);
        assertEquals(2, cluster.network().sent(1, MessageType.PRE_VOTE));
        assertEquals(0, cluster.network().sent(1, MessageType.VOTE));
        assertEquals(0, cluster.node(1).currentTerm(), "a pre-vote does not change the term");
        stabilize(cluster);
        assertEquals(1, cluster.leader());
        assertEquals(2, cluster.network().sent(1, MessageType.VOTE));

        cluster.triggerElection(2);
        assertEquals(0, cluster.network().sent(2, MessageType.PRE_VOTE), "triggerElection skips pre-vote");
        assertEquals(2, cluster.network().sent(2, MessageType.VOTE));
        stabilize(cluster);

        cluster.expireElectionTimer(3);
        assertEquals(0, cluster.network().sent(3, MessageType.PRE_VOTE), "node 3 was configured without pre-vote");
        assertEquals(2, cluster.network().sent(3, MessageType.VOTE));
    }

    @ParameterizedTest(name = "runtime={0}")
    @ValueSource(booleans = {false, true})
    void electionTimersAndHeartbeatsSwitchPerNode(final boolean runtime)
    {
        // Without check-quorum: a leader that sends no heartbeat would step down for want of acknowledgements.
        final SimCluster cluster = SimCluster.builder().nodes(3).seed(3).runtime(runtime).engineConfig(c -> c.checkQuorum(false))
            .build();
        for (int id = 1; id <= 3; id++)
        {
            cluster.electionTimer(id, false);
        }
        cluster.advance(5_000);
        assertEquals(Vote.NO_NODE, cluster.leader(), "no node stands with its timer off");
        assertEquals(0, cluster.network().sent(0, MessageType.VOTE) + cluster.network().sent(0, MessageType.PRE_VOTE));
        cluster.electionTimer(2, true);
        assertEquals(2, cluster.awaitLeader(2_000), "only node 2 can stand");

        final long appends = cluster.network().sent(2, MessageType.APPEND);
        cluster.advance(1_000);
        assertTrue(cluster.network().sent(2, MessageType.APPEND) >= appends + 2 * 10, "heartbeats every 50 ms");
        cluster.heartbeats(2, false);
        cluster.advance(10);
        final long quiet = cluster.network().sent(2, MessageType.APPEND);
        cluster.advance(1_000);
        assertEquals(quiet, cluster.network().sent(2, MessageType.APPEND), "no heartbeat with heartbeats off");
        assertEquals(2, cluster.leader(), "and nobody else stands, the timers being off");
        cluster.heartbeats(2, true);
        cluster.advance(200);
        assertTrue(cluster.network().sent(2, MessageType.APPEND) > quiet);
    }

    @ParameterizedTest(name = "runtime={0}")
    @ValueSource(booleans = {false, true})
    void aLogIsPurgedUpToTheIndexAskedForBehindASnapshot(final boolean runtime)
    {
        final SimCluster cluster = exact(runtime, 3);
        elect(cluster, 1);
        for (int i = 0; i < 6; i++)
        {
            cluster.writeTo(1, "k" + i, "v" + i);
        }
        stabilize(cluster);
        assertEquals(8, cluster.metrics(1).applied());
        cluster.purgeLog(1, 4);
        assertEquals(0, cluster.metrics(1).lastPurged().index(), "no snapshot yet: nothing is purged");
        cluster.buildSnapshot(1);
        cluster.advance(1);
        assertEquals(8, cluster.metrics(1).snapshot().index());
        assertTrue(cluster.metrics(1).lastPurged().index() < 4, "the default retention keeps the log");
        cluster.purgeLog(1, 4);
        assertEquals(new LogId(1, 4), cluster.metrics(1).lastPurged());
        assertEquals(5, cluster.node(1).log().entries(5, 9).get(0).index());
        cluster.purgeLog(1, 100);
        assertEquals(new LogId(1, 8), cluster.metrics(1).lastPurged(), "clipped to the snapshot");
    }

    @ParameterizedTest(name = "runtime={0}")
    @ValueSource(booleans = {false, true})
    void aWriteOrAReadGoesToTheChosenNodeOnlyInsideACheckedStep(final boolean runtime)
    {
        final SimCluster cluster = exact(runtime, 3);
        elect(cluster, 1);
        final long last = cluster.node(1).lastLogId().index();
        final long checks = cluster.checker().checks();
        final SimOp write = cluster.writeTo(1, "x", "1");
        assertEquals(last + 1, cluster.node(1).lastLogId().index(), "in the leader's log when writeTo returns");
        assertTrue(cluster.checker().checks() > checks, "the step was checked");
        final SimOp refused = cluster.writeTo(2, "y", "1");
        cluster.advance(1);
        assertEquals(Operation.Status.FAIL, refused.status(), "a follower refuses it, and the client does not retry");
        assertEquals(2, refused.node());
        assertEquals(1, refused.attempts());
        stabilize(cluster);
        assertEquals(Operation.Status.OK, write.status());
        final SimOp read = cluster.readAt(2, "x");
        stabilize(cluster);
        assertEquals(Operation.Status.OK, read.status(), read.toString());
        assertEquals("1", read.result());
        assertEquals(2, read.node(), "served by the follower it was sent to");
        assertEquals(3, cluster.history().size());
    }

    @ParameterizedTest(name = "runtime={0}")
    @ValueSource(booleans = {false, true})
    void aNodeWhoseDiskIsReplacedRestartsEmptyAndUninitialized(final boolean runtime)
    {
        final SimCluster cluster = exact(runtime, 3);
        elect(cluster, 1);
        cluster.writeTo(1, "x", "1");
        stabilize(cluster);
        cluster.crash(3);
        assertThrows(IllegalStateException.class, () -> cluster.replaceDisk(1), "a running node keeps its disk");
        cluster.replaceDisk(3);
        assertEquals(LogId.ZERO, cluster.node(3).log().lastLogId());
        assertEquals(Vote.INITIAL, cluster.node(3).log().readVote());
        assertNull(cluster.metrics(3).snapshot());
        cluster.restart(3);
        assertNull(cluster.node(3).membership(), "it comes back uninitialized");
        assertEquals(0, cluster.node(3).currentTerm(), "with term 0: the checker accepts the term going back");
        assertEquals(LogId.ZERO, cluster.node(3).lastLogId());
        // The leader still counts node 3 at its old match index (Raft assumes a disk is never lost):
        // a test of a rejoin protocol starts here.
        assertEquals(3, cluster.metrics(1).matched().get(3L));
        cluster.triggerHeartbeat(1);
        stabilize(cluster);
        assertEquals(1, cluster.node(3).currentTerm(), "it hears of the leader's term");
    }

    @ParameterizedTest(name = "runtime={0}")
    @ValueSource(booleans = {false, true})
    void aPlantedBugIsCaughtThroughEitherNodeKindAndItsCheckCanBeSwitchedOff(final boolean runtime)
    {
        final SimCluster caught = SimCluster.builder().nodes(3).seed(10).runtime(runtime)
            .engineConfig(c -> c.plantedBug(PlantedBug.ACK_BEFORE_DURABLE)).build();
        final SimulationFailure failure = assertThrows(SimulationFailure.class, () -> writes(caught, 50));
        assertTrue(failure.reason().startsWith("durability"), failure.reason());

        final SimCluster unchecked = SimCluster.builder().nodes(3).seed(10).runtime(runtime)
            .engineConfig(c -> c.plantedBug(PlantedBug.ACK_BEFORE_DURABLE))
            .disableChecks(InvariantChecker.Check.DURABILITY).build();
        assertFalse(unchecked.checker().enabled(InvariantChecker.Check.DURABILITY));
        assertTrue(unchecked.checker().enabled(InvariantChecker.Check.ELECTION_SAFETY));
        writes(unchecked, 50);
        assertTrue(unchecked.acknowledgedWrites() >= 45, "runs on without the durability check: " + unchecked.acknowledgedWrites());
    }

    private static void writes(final SimCluster cluster, final int count)
    {
        cluster.awaitLeader(2_000);
        for (int i = 0; i < count; i++)
        {
            final SimOp put = cluster.write("x", "v" + i);
            cluster.runUntil(put::isDone, 2_000);
        }
    }

    private static List<Long> terms(final SimNode node)
    {
        final SimLogStorage log = node.log();
        return java.util.stream.LongStream.rangeClosed(log.lastPurgedLogId().index() + 1, log.lastLogId().index())
            .mapToObj(log::termAt).toList();
    }

    @Test
    void theMetricsOfARuntimeNodeComeFromItsRaftMetrics()
    {
        final SimCluster cluster = SimCluster.builder().nodes(3).seed(4).runtime(true).snapshotEvery(3).build();
        final long leader = cluster.awaitLeader(2_000);
        for (int i = 0; i < 8; i++)
        {
            final SimOp put = cluster.write("k", "v" + i);
            assertTrue(cluster.runUntil(put::isDone, 2_000));
        }
        cluster.advance(100);
        final RuntimeSimNode node = (RuntimeSimNode)cluster.node(leader);
        final io.ringraft.RaftMetrics raft = node.raft().metrics();
        final NodeMetrics metrics = cluster.metrics(leader);
        assertEquals(raft.vote(), metrics.vote());
        assertEquals(raft.lastLogId(), metrics.lastLogId());
        assertEquals(Role.LEADER, metrics.role());
        assertNotNull(metrics.snapshot());
        assertEquals(raft.snapshotIndex(), metrics.snapshot().index());
        assertEquals(raft.purgedIndex(), metrics.lastPurged().index());
        assertEquals(raft.flushedIndex(), metrics.flushedLogId().index());
    }
}
