package io.ringraft.transport.aeron;

import io.ringraft.AdminResult;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.WriteResult;
import io.ringraft.engine.Role;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.RaftNetwork;
import io.ringraft.network.VoteRequest;
import io.ringraft.storage.InMemoryLogStorage;
import org.agrona.CloseHelper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Four nodes over Aeron UDP; one is removed from the membership. Afterwards it comes back with its
 * old configuration and tries to take over (AppendEntries and vote requests of a much higher term
 * to every member): the members drop and count its frames, their term does not move, the leader
 * stays, and the cluster commits.
 */
class RemovedNodeClusterTest
{
    private static final int CLUSTER = 31;

    private final Map<Long, Raft> nodes = new LinkedHashMap<>();
    private final Map<Long, AeronRaftNetwork> networks = new TreeMap<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void closeAll()
    {
        nodes.values().forEach(Raft::close);
        closeables.forEach(CloseHelper::quietClose);
    }

    private Raft leader() throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline)
        {
            for (final Raft n : nodes.values())
            {
                if (n.role() == Role.LEADER)
                {
                    return n;
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no leader within 20 s");
    }

    @Test
    void aRemovedNodeThatComesBackCannotDisturbTheCluster() throws Exception
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2, 3, 4);
        for (long id = 1; id <= 4; id++)
        {
            final AeronRaftNetwork network = new AeronRaftNetwork(new AeronTransportConfig()
                .nodeId(id).clusterId(CLUSTER).endpoints(endpoints).termLength(256 * 1024).embeddedDriver(true));
            networks.put(id, network);
            nodes.put(id, Raft.start(new RaftConfig().nodeId(id).randomSeed(id * 7).electionTimeout(300, 600, TimeUnit.MILLISECONDS)
                .maxPayloadLength(16 * 1024), new InMemoryLogStorage(), network, new NoopStateMachine(), Membership.of(1, 2, 3, 4)));
        }
        Raft leader = leader();
        final long removed = leader.nodeId() == 4 ? 3 : 4;
        final long[] remaining = nodes.keySet().stream().mapToLong(Long::longValue).filter(n -> n != removed).toArray();
        final AdminResult change = leader.changeMembership(remaining, false, Duration.ofSeconds(10)).get(20, TimeUnit.SECONDS);
        assertTrue(change.isOk(), change.toString());
        // The members' networks stop reaching it (the leader's once the node has learned of its removal).
        for (final long id : remaining)
        {
            final AeronRaftNetwork network = networks.get(id);
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (network.peers().length != remaining.length - 1 && System.nanoTime() < deadline)
            {
                Thread.sleep(10);
            }
            assertArrayEquals(java.util.Arrays.stream(remaining).filter(n -> n != id).toArray(), network.peers(), "peers of node " + id);
        }

        // The removed node comes back with its old configuration and tries to lead a much later term.
        nodes.remove(removed).close();
        final AeronRaftNetwork intruder = new AeronRaftNetwork(new AeronTransportConfig()
            .nodeId(removed).clusterId(CLUSTER).endpoints(endpoints).termLength(256 * 1024).embeddedDriver(true));
        closeables.add(intruder);
        leader = leader();
        final long leaderId = leader.nodeId();
        final long term = leader.term();
        final Map<Long, Long> droppedBefore = new TreeMap<>();
        for (final long id : remaining)
        {
            droppedBefore.put(id, networks.get(id).counters().dropped(DropReason.UNKNOWN_SENDER));
        }
        final long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        int sent = 0;
        while (System.nanoTime() < until)
        {
            for (final long id : remaining)
            {
                final long highTerm = term + 100 + sent;
                sent += intruder.send(new AppendEntriesRequest(removed, id, highTerm, LogId.ZERO, 0, 1, List.of())) == RaftNetwork.SENT ? 1 : 0;
                sent += intruder.send(new VoteRequest(removed, id, highTerm, new LogId(highTerm, 1_000_000), false, false)) ==
                    RaftNetwork.SENT ? 1 : 0;
            }
            intruder.poll(m -> { }, 100);
            Thread.sleep(5);
        }
        assertTrue(sent > 100, "the intruder's frames went out: " + sent);
        for (final long id : remaining)
        {
            final long dropped = networks.get(id).counters().dropped(DropReason.UNKNOWN_SENDER) - droppedBefore.get(id);
            assertTrue(dropped > 10, "node " + id + " dropped and counted the removed node's frames: " + dropped);
            assertEquals(term, nodes.get(id).term(), "node " + id + " stays in the term");
        }
        assertEquals(leaderId, leader().nodeId(), "the leader stays");
        int committed = 0;
        final long writeDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (committed < 100)
        {
            final WriteResult result = leader.clientWrite(new byte[32]).get(10, TimeUnit.SECONDS);
            if (result.isOk())
            {
                committed++;
            }
            else
            {
                leader = leader(); // a loaded machine may move leadership (the term check above is what the intruder would move)
                assertTrue(System.nanoTime() < writeDeadline, "no progress: " + result);
            }
        }
    }
}
