package io.ringraft.runtime;

import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftAgent;
import io.ringraft.RaftConfig;
import io.ringraft.ThreadingMode;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.RaftNetwork;
import io.ringraft.storage.InMemoryLogStorage;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RaftAgentTest
{
    @Test
    void drivesAnInvokerNodeAndRefusesANodeWithThreads()
    {
        final InJvmNetwork network = new InJvmNetwork(64);
        try (Raft invoker = start(network, 1, ThreadingMode.INVOKER); Raft shared = start(network, 2, ThreadingMode.SHARED))
        {
            assertTrue(invoker.isInvoker());
            assertFalse(shared.isInvoker());
            final RaftAgent agent = new RaftAgent(invoker);
            assertEquals("ringraft-node-1", agent.roleName());
            invoker.triggerElection();
            // A single voter elects itself once its duty cycle runs, and only the agent runs it here.
            for (int i = 0; i < 100_000 && !invoker.isLeader(); i++)
            {
                agent.doWork();
            }
            assertTrue(invoker.isLeader());
            assertTrue(assertThrows(IllegalArgumentException.class, () -> new RaftAgent(shared)).getMessage().contains("threadingMode=INVOKER"));
        }
    }

    /**
     * A transport that runs on the node's thread (an Aeron driver in invoker mode) moves bytes only when run: its
     * work is the node's work, or the node parks while a long message leaves one datagram per run.
     */
    @Test
    void runsTheTransportsOwnWorkBeforeEachPollAndCountsIt()
    {
        final InJvmNetwork network = new InJvmNetwork(64);
        final List<String> calls = new ArrayList<>();
        final int[] transportWork = {0};
        final RaftNetwork endpoint = network.endpoint(1);
        final RaftNetwork transport = new RaftNetwork()
        {
            @Override
            public int send(final RaftMessage message)
            {
                return endpoint.send(message);
            }

            @Override
            public int poll(final MessageHandler handler, final int limit)
            {
                calls.add("poll");
                return endpoint.poll(handler, limit);
            }

            @Override
            public int doWork()
            {
                calls.add("doWork");
                return transportWork[0];
            }

            @Override
            public void close()
            {
                endpoint.close();
            }
        };
        try (Raft node = Raft.start(new RaftConfig().nodeId(1).threadingMode(ThreadingMode.INVOKER), new InMemoryLogStorage(), transport,
            new RecordingStateMachine(), Membership.of(1)))
        {
            node.triggerElection();
            int idleCycles = 0;
            for (int i = 0; i < 100_000 && idleCycles < 100; i++)
            {
                idleCycles = node.doWork() == 0 && node.isLeader() ? idleCycles + 1 : 0;
            }
            assertEquals(100, idleCycles, "the node settles");
            calls.clear();
            transportWork[0] = 3;
            assertTrue(node.doWork() >= 3, "the transport's work is the node's");
            assertEquals(List.of("doWork", "poll"), calls, "one run of the transport, then the poll");
            transportWork[0] = 0;
            assertEquals(0, node.doWork());
        }
    }

    /**
     * A duty cycle that sleeps when idle learns of input from other threads through the input signal, and before it
     * sleeps asks whether input is pending: a write published just before the sleep must not wait for its timeout.
     */
    @Test
    void signalsEveryInputFromAnotherThreadAndReportsItPendingUntilTaken() throws Exception
    {
        final InJvmNetwork network = new InJvmNetwork(64);
        try (Raft node = start(network, 1, ThreadingMode.INVOKER))
        {
            final java.util.concurrent.atomic.AtomicInteger signals = new java.util.concurrent.atomic.AtomicInteger();
            node.inputSignal(signals::incrementAndGet);
            assertFalse(node.hasPendingInput());
            node.triggerElection();
            assertEquals(1, signals.get(), "a control call is input too");
            assertTrue(node.hasPendingInput());
            for (int i = 0; i < 100_000 && !node.isLeader(); i++)
            {
                node.doWork();
            }
            assertTrue(node.isLeader());
            assertFalse(node.hasPendingInput(), "taken by the duty cycle");
            final Thread writer = new Thread(() -> node.clientWrite(new byte[] {1, 2, 3}));
            writer.start();
            writer.join();
            assertEquals(2, signals.get(), "signalled on the writer's thread after the write was published");
            assertTrue(node.hasPendingInput(), "the write waits for the duty cycle");
            node.doWork();
            assertFalse(node.hasPendingInput());
            node.inputSignal(null);
            node.triggerHeartbeat();
            assertEquals(2, signals.get(), "no signal once removed");
        }
    }

    /**
     * A sync that completes on the storage's thread after the duty cycle's last flush and before it sleeps is pending
     * input: the sleep must not begin (the storage's signal only ends a sleep already begun).
     */
    @Test
    void aSyncCompletedSinceTheLastFlushIsPendingInput()
    {
        final long[] synced = {0};
        final InMemoryLogStorage storage = new InMemoryLogStorage()
        {
            @Override
            public long flush()
            {
                super.flush();
                return Math.min(synced[0], lastLogIndex()); // durability completes on "another thread": when the test says
            }

            @Override
            public long durableIndexNow()
            {
                return Math.min(synced[0], lastLogIndex());
            }
        };
        try (Raft node = Raft.start(new RaftConfig().nodeId(1).threadingMode(ThreadingMode.INVOKER), storage,
            new InJvmNetwork(64).endpoint(1), new RecordingStateMachine(), Membership.of(1)))
        {
            node.triggerElection();
            for (int i = 0; i < 1_000 && !node.isLeader(); i++)
            {
                synced[0] = storage.lastLogIndex(); // the election's entries sync at once
                node.doWork();
            }
            assertTrue(node.isLeader());
            for (int i = 0; i < 100; i++)
            {
                synced[0] = storage.lastLogIndex();
                node.doWork();
            }
            final java.util.concurrent.CompletableFuture<io.ringraft.WriteResult> write = node.clientWrite(new byte[] {1, 2, 3});
            for (int i = 0; i < 10; i++)
            {
                node.doWork(); // appended, not durable yet
            }
            assertFalse(write.isDone());
            assertFalse(node.hasPendingInput(), "nothing to do until the sync completes");
            synced[0] = storage.lastLogIndex(); // the sync completes; nobody signals
            assertTrue(node.hasPendingInput(), "a completed sync is work for the next duty cycle");
            for (int i = 0; i < 10 && !write.isDone(); i++)
            {
                node.doWork();
            }
            assertTrue(write.join().isOk());
            assertFalse(node.hasPendingInput());
        }
    }

    /** A node driven by an agent runner is never run by the thread that waits for it: one duty cycle, one thread. */
    @Test
    void waitForLeavesANodeDrivenByAnotherThreadToThatThread() throws Exception
    {
        final InJvmNetwork network = new InJvmNetwork(64);
        try (Raft node = start(network, 1, ThreadingMode.INVOKER);
            org.agrona.concurrent.AgentRunner runner = new org.agrona.concurrent.AgentRunner(
                new org.agrona.concurrent.SleepingMillisIdleStrategy(1), Throwable::printStackTrace, null, new RaftAgent(node)))
        {
            assertEquals(null, node.driverThread());
            org.agrona.concurrent.AgentRunner.startOnThread(runner);
            final long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
            while (node.driverThread() == null)
            {
                assertTrue(System.nanoTime() < deadline, "the runner never drove the node");
                Thread.sleep(1);
            }
            final Thread driver = node.driverThread();
            assertEquals(runner.thread(), driver);
            node.triggerElection();
            for (int i = 0; i < 20; i++)
            {
                node.clientWrite(new byte[] {(byte)i});
            }
            node.waitFor(m -> m.appliedIndex() >= 20, java.time.Duration.ofSeconds(10));
            assertSame(driver, node.driverThread(), "only the runner's thread ran the node");
            assertNull(node.failure());
        }
    }

    private static Raft start(final InJvmNetwork network, final long id, final ThreadingMode mode)
    {
        return Raft.start(new RaftConfig().nodeId(id).threadingMode(mode), new InMemoryLogStorage(), network.endpoint(id),
            new RecordingStateMachine(), Membership.of(id));
    }
}
