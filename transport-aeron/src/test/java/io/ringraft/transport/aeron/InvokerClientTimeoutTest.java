package io.ringraft.transport.aeron;

import io.aeron.exceptions.ConductorServiceTimeoutException;
import io.ringraft.network.RaftNetwork;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * In invoker mode the network's owner runs Aeron's client conductor; one that does not run it within the
 * driver's client timeout (a stalled duty cycle: a long GC pause, a starved thread) finds the client closed
 * under it, its counters unmapped. The network must then read and close without touching them: the JVM crashed
 * with a SIGSEGV in {@code TransportCounters.close()} when it did. Its {@code poll} throws from then on, so that
 * the node fails stop (see {@code AeronClientFailStopTest}).
 */
class InvokerClientTimeoutTest
{
    private static final String LIVENESS = "aeron.client.liveness.timeout";

    @Test
    void aNetworkWhoseConductorWasNotRunInTimeClosesWithoutTouchingItsUnmappedCounters()
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2);
        final AeronRaftNetwork network;
        // The driver tells its clients how long they may go without running: 2 s instead of 10 s, for this driver only.
        System.setProperty(LIVENESS, "2s");
        try
        {
            network = new AeronRaftNetwork(new AeronTransportConfig().nodeId(1).clusterId(5).endpoints(endpoints).embeddedDriver(true)
                .invoker(true));
        }
        finally
        {
            System.clearProperty(LIVENESS);
        }
        try
        {
            network.doWork();
            network.poll(message -> { }, 10);
            assertEquals(0, network.counters().received());
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(4_000));
            // The conductor notices the missed interval, closes the client and unmaps its files; the
            // network says so from this poll on (the node fails stop on it), rather than going on idle.
            for (int i = 0; i < 10; i++)
            {
                final IllegalStateException stopped = assertThrows(IllegalStateException.class, () ->
                {
                    network.doWork();
                    network.poll(message -> { }, 10);
                });
                assertTrue(stopped.getMessage().contains("the Aeron client stopped"), stopped.getMessage());
                assertSame(network.clientFailure(), stopped.getCause());
            }
            assertInstanceOf(ConductorServiceTimeoutException.class, network.clientFailure());
            assertEquals(RaftNetwork.CLOSED, network.send(new io.ringraft.network.TimeoutNow(1, 2, 1)), "its publications are closed");
            assertEquals(0, network.counters().sent(), "a closed counter reads 0");
            assertEquals(0, network.counters().droppedTotal());
        }
        finally
        {
            network.close();
        }
        assertTrue(network.isClosed());
        assertEquals(0, network.counters().received());
        assertEquals(RaftNetwork.CLOSED, network.send(new io.ringraft.network.TimeoutNow(1, 2, 1)));
    }
}
