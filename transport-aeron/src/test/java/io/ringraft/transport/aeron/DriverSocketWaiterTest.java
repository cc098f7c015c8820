package io.ringraft.transport.aeron;

import io.aeron.Aeron;
import io.aeron.Publication;
import io.aeron.Subscription;
import org.agrona.CloseHelper;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A thread that runs a media driver in INVOKER mode sleeps on its sockets and wakes when a datagram arrives for it
 * or another thread wakes it, not when a timeout ends.
 */
class DriverSocketWaiterTest
{
    private static final int STREAM = 7;
    private static final long LONG_WAIT_MS = 20_000;

    private EmbeddedMediaDriver invoked;
    private Aeron invokedClient;
    private EmbeddedMediaDriver other;
    private Aeron otherClient;
    private Thread helper;

    @AfterEach
    void close() throws InterruptedException
    {
        if (helper != null)
        {
            helper.join(30_000);
        }
        CloseHelper.quietCloseAll(otherClient, other, invokedClient, invoked);
    }

    private Subscription subscribed(final String endpoint)
    {
        invoked = EmbeddedMediaDriver.launch(1, 64 * 1024, true);
        invokedClient = Aeron.connect(new Aeron.Context().aeronDirectoryName(invoked.aeronDirectoryName()).useConductorAgentInvoker(true)
            .driverAgentInvoker(invoked.invoker()));
        return invokedClient.addSubscription("aeron:udp?endpoint=" + endpoint, STREAM);
    }

    private int invoke()
    {
        return invokedClient.conductorAgentInvoker().invoke() + invoked.invoker().invoke();
    }

    /** Runs the invoked driver until nothing happens for 50 ms (what was in flight is taken). */
    private void quiesce()
    {
        long quietSince = System.nanoTime();
        while (System.nanoTime() - quietSince < TimeUnit.MILLISECONDS.toNanos(50))
        {
            if (invoke() > 0)
            {
                quietSince = System.nanoTime();
            }
        }
    }

    @Test
    void aDatagramForTheDriverEndsTheWait()
    {
        final String endpoint = "127.0.0.1:" + LoopbackPorts.freePort();
        final Subscription subscription = subscribed(endpoint);
        other = EmbeddedMediaDriver.launch(2, 64 * 1024, false);
        otherClient = Aeron.connect(new Aeron.Context().aeronDirectoryName(other.aeronDirectoryName()));
        final Publication publication = otherClient.addPublication("aeron:udp?endpoint=" + endpoint, STREAM);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!publication.isConnected() || !subscription.isConnected())
        {
            invoke();
            assertTrue(System.nanoTime() < deadline, "not connected");
        }
        final DriverSocketWaiter waiter = invoked.socketWaiter();
        assertSame(waiter, invoked.socketWaiter());
        quiesce();
        final UnsafeBuffer message = new UnsafeBuffer(new byte[] {42});
        helper = new Thread(() ->
        {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
            while (publication.offer(message) < 0)
            {
                LockSupport.parkNanos(1_000_000);
            }
        });
        helper.start();
        final AtomicInteger received = new AtomicInteger();
        final long start = System.nanoTime();
        // A wait may also end for Aeron's own traffic (status messages, heartbeats, every 100-200 ms); the
        // message must arrive long before one wait of 20 s could time out.
        while (received.get() == 0)
        {
            waiter.await(LONG_WAIT_MS);
            invoke();
            subscription.poll((buffer, offset, length, header) -> received.addAndGet(buffer.getByte(offset)), 10);
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "the message did not wake the wait");
        }
        assertEquals(42, received.get());
        assertTrue(waiter.channels() >= 1, "waits on the driver's sockets: " + waiter.channels());
    }

    @Test
    void anotherThreadWakesTheWait()
    {
        subscribed("127.0.0.1:" + LoopbackPorts.freePort());
        quiesce();
        final DriverSocketWaiter waiter = invoked.socketWaiter();
        helper = new Thread(() ->
        {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
            waiter.wake();
        });
        helper.start();
        final long start = System.nanoTime();
        boolean woken = false;
        while (!woken)
        {
            woken = waiter.await(LONG_WAIT_MS);
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "wake() did not end the wait");
        }
        // A wake with no wait in progress ends the next wait at once.
        waiter.wake();
        final long next = System.nanoTime();
        assertTrue(waiter.await(LONG_WAIT_MS));
        assertTrue(System.nanoTime() - next < TimeUnit.SECONDS.toNanos(5));
    }

    @Test
    void onlyADriverInInvokerModeCanBeWaitedOn()
    {
        other = EmbeddedMediaDriver.launch(3, 64 * 1024, false);
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, other::socketWaiter);
        assertTrue(ex.getMessage().contains("INVOKER"), ex.getMessage());
    }
}
