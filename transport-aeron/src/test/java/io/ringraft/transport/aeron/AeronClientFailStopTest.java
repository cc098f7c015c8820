package io.ringraft.transport.aeron;

import io.aeron.exceptions.AeronException;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.ThreadingMode;
import io.ringraft.WriteResult;
import io.ringraft.WriteStatus;
import io.ringraft.engine.Role;
import io.ringraft.network.RaftNetwork;
import io.ringraft.network.TimeoutNow;
import io.ringraft.runtime.RaftCounters;
import io.ringraft.storage.InMemoryLogStorage;
import org.agrona.CloseHelper;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Aeron client under a node stops by itself when its conductor is not run within the media
 * driver's client liveness timeout (in invoker mode the node's own duty cycle runs it: a long
 * stall of that thread) or when its media driver goes away. The node must then fail stop as it
 * does for any other failure: leading no more, answering {@code FATAL} with the cause, reporting
 * to its error handler and marking its counters. It must not stay up with every send answered
 * {@code CLOSED} (a leader that can no longer reach anyone, or be reached).
 */
class AeronClientFailStopTest
{
    private static final int CLUSTER = 41;
    private static final String LIVENESS = "aeron.client.liveness.timeout";
    private static final String DRIVER_TIMEOUT = "aeron.driver.timeout";

    @TempDir
    Path dir;

    private final List<Raft> nodes = new ArrayList<>();
    private final List<List<Throwable>> reported = new ArrayList<>();
    private final List<EmbeddedMediaDriver> drivers = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean driving = true;
    private volatile long pausedNode;

    @AfterEach
    void closeAll() throws InterruptedException
    {
        driving = false;
        for (final Thread t : threads)
        {
            t.join();
        }
        nodes.forEach(Raft::close);
        drivers.forEach(CloseHelper::quietClose);
    }

    private RaftConfig config(final long id, final ThreadingMode mode)
    {
        final List<Throwable> errors = new CopyOnWriteArrayList<>();
        reported.add(errors);
        return new RaftConfig().nodeId(id).threadingMode(mode).randomSeed(id * 13).electionTimeout(500, 1000, TimeUnit.MILLISECONDS)
            .maxPayloadLength(16 * 1024).errorHandler(errors::add).countersFile(dir.resolve("node-" + id + ".counters"));
    }

    /** Starts node {@code id}, with {@code property} set to {@code value} while its Aeron client and driver start (null for none). */
    private Raft start(final long id, final ThreadingMode mode, final AeronTransportConfig transport, final String property,
        final String value)
    {
        final AeronRaftNetwork network;
        if (property != null)
        {
            System.setProperty(property, value);
        }
        try
        {
            network = new AeronRaftNetwork(transport);
        }
        finally
        {
            if (property != null)
            {
                System.clearProperty(property);
            }
        }
        final Raft raft = Raft.start(config(id, mode), new InMemoryLogStorage(), network, new NoopStateMachine(), Membership.of(1, 2, 3));
        nodes.add(raft);
        if (mode == ThreadingMode.INVOKER)
        {
            final Thread thread = new Thread(() ->
            {
                while (driving)
                {
                    if (pausedNode == id)
                    {
                        LockSupport.parkNanos(1_000_000);
                    }
                    else if (raft.doWork() == 0)
                    {
                        LockSupport.parkNanos(100_000);
                    }
                }
            }, "driver-" + id);
            threads.add(thread);
            thread.start();
        }
        return raft;
    }

    /** Makes {@code node} the leader (an election it starts) and has it acknowledge some writes. */
    private void leadAndWrite(final Raft node) throws Exception
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (node.role() != Role.LEADER)
        {
            assertTrue(System.nanoTime() < deadline, "node " + node.nodeId() + " did not become the leader");
            node.triggerElection();
            final long wait = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1_500);
            while (node.role() != Role.LEADER && System.nanoTime() < wait)
            {
                Thread.sleep(5);
            }
        }
        writeAcknowledged(node, 20);
    }

    private static void writeAcknowledged(final Raft leader, final int count) throws Exception
    {
        int acked = 0;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (acked < count)
        {
            assertTrue(System.nanoTime() < deadline, "only " + acked + " of " + count + " writes acknowledged by node " + leader.nodeId());
            final WriteResult r = leader.clientWrite(new byte[32]).get(10, TimeUnit.SECONDS);
            if (r.isOk())
            {
                acked++;
            }
        }
    }

    /** The node stopped as a whole, with the Aeron client's fatal error as its cause. */
    private void assertFailedStop(final Raft node) throws Exception
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (node.failure() == null)
        {
            assertTrue(System.nanoTime() < deadline, "node " + node.nodeId() + " did not fail stop; role " + node.role() +
                ", reported " + reported.get((int)node.nodeId() - 1));
            Thread.sleep(5);
        }
        final Throwable failure = node.failure();
        AeronException aeronCause = null;
        for (Throwable t = failure; t != null; t = t.getCause())
        {
            if (t instanceof AeronException)
            {
                aeronCause = (AeronException)t;
            }
        }
        assertNotNull(aeronCause, "the cause is the Aeron client's error: " + failure);
        assertEquals(AeronException.Category.FATAL, aeronCause.category(), aeronCause.toString());
        assertTrue(failure.getMessage().contains("Aeron client"), failure.getMessage());
        assertTrue(reported.get((int)node.nodeId() - 1).contains(failure), "reported: " + reported.get((int)node.nodeId() - 1));
        assertTrue(node.role() != Role.LEADER);
        assertEquals(WriteStatus.FATAL, node.clientWrite(new UnsafeBuffer(new byte[8]), 0, 8, 1, (c, s, i, l, b, o, n) -> { }));
        assertEquals(WriteStatus.FATAL, node.clientWrite(new byte[8]).get(10, TimeUnit.SECONDS).status());
        final Map<String, Long> counters = RaftCounters.readFile(dir.resolve("node-" + node.nodeId() + ".counters"));
        assertEquals(1L, counters.get("ringraft node " + node.nodeId() + " failed (1 once the node failed and stopped)"), counters.toString());
    }

    @Test
    void whatAHandlerThrowsComesOutOfPollAsOverTheInJvmNetworkInsteadOfGoingToAeronsErrorHandler() throws Exception
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2);
        final List<String> logged = new CopyOnWriteArrayList<>();
        try (AeronRaftNetwork one = new AeronRaftNetwork(new AeronTransportConfig().nodeId(1).clusterId(CLUSTER).endpoints(endpoints)
                .embeddedDriver(true).log(logged::add));
            AeronRaftNetwork two = new AeronRaftNetwork(new AeronTransportConfig().nodeId(2).clusterId(CLUSTER).endpoints(endpoints)
                .embeddedDriver(true)))
        {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (two.send(new TimeoutNow(2, 1, 7)) != RaftNetwork.SENT)
            {
                assertTrue(System.nanoTime() < deadline, "node 2 never reached node 1");
                Thread.sleep(5);
            }
            two.send(new TimeoutNow(2, 1, 8));
            final IllegalStateException broken = new IllegalStateException("handler bug");
            final List<Long> handled = new ArrayList<>();
            IllegalStateException thrown = null;
            while (thrown == null)
            {
                assertTrue(System.nanoTime() < deadline, "nothing arrived at node 1");
                try
                {
                    one.poll(message ->
                    {
                        handled.add(message.term());
                        throw broken;
                    }, 10);
                }
                catch (final IllegalStateException ex)
                {
                    thrown = ex;
                }
                Thread.sleep(1);
            }
            assertSame(broken, thrown, "the handler's own exception, as the in-JVM network throws it");
            assertEquals(List.of(7L), handled, "no message is handed to the handler after it failed in the same poll");
            assertNull(one.clientFailure(), "a handler's failure is not the client's");
            // The network goes on: the next poll works.
            while (two.send(new TimeoutNow(2, 1, 9)) != RaftNetwork.SENT)
            {
                Thread.sleep(1);
            }
            final List<Long> later = new ArrayList<>();
            while (!later.contains(9L))
            {
                assertTrue(System.nanoTime() < deadline, "node 1 stopped receiving");
                one.poll(message -> later.add(message.term()), 10);
                Thread.sleep(1);
            }
            assertEquals(List.of(), logged, "nothing went to Aeron's error handler");
        }
    }

    @Test
    void aLeaderWhoseDutyCycleStallsPastTheClientLivenessTimeoutFailsStopInInvokerMode() throws Exception
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2, 3);
        for (long id = 1; id <= 3; id++)
        {
            // Node 1's driver gives its client 2 s to run its conductor instead of 10 s.
            start(id, ThreadingMode.INVOKER, new AeronTransportConfig().nodeId(id).clusterId(CLUSTER).endpoints(endpoints)
                .termLength(256 * 1024).embeddedDriver(true).invoker(true), id == 1 ? LIVENESS : null, "2s");
        }
        final Raft stalled = nodes.get(0);
        leadAndWrite(stalled);

        // The thread that runs node 1 (its core, its Aeron client's conductor and its driver) stalls
        // for twice the liveness timeout: the others elect a leader meanwhile.
        pausedNode = 1;
        final Raft next = LoopbackPorts.awaitLeader(nodes, stalled);
        Thread.sleep(4_000);
        assertNull(stalled.failure(), "nothing ran on node 1 while it stalled");
        pausedNode = 0;

        assertFailedStop(stalled);
        writeAcknowledged(next, 20);
        for (final Raft n : nodes)
        {
            if (n != stalled)
            {
                assertNull(n.failure(), "node " + n.nodeId() + " goes on");
            }
        }
    }

    @Test
    void aNodeWhoseMediaDriverGoesAwayFailsStopWhenItsClientRunsOnItsOwnThread() throws Exception
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2, 3);
        for (long id = 1; id <= 3; id++)
        {
            final EmbeddedMediaDriver driver = EmbeddedMediaDriver.launch(id, 256 * 1024);
            drivers.add(driver);
            // Node 1's client gives up on its driver after 2 s of silence instead of 10 s.
            start(id, ThreadingMode.SHARED, new AeronTransportConfig().nodeId(id).clusterId(CLUSTER).endpoints(endpoints)
                .termLength(256 * 1024).externalDriver(driver.aeronDirectoryName()), id == 1 ? DRIVER_TIMEOUT : null, "2000");
        }
        final Raft orphaned = nodes.get(0);
        leadAndWrite(orphaned);

        drivers.get(0).close();
        assertFailedStop(orphaned);
        writeAcknowledged(LoopbackPorts.awaitLeader(nodes, orphaned), 20);
    }
}
