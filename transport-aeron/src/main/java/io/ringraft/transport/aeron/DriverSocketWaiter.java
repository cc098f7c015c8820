package io.ringraft.transport.aeron;

import io.aeron.driver.MediaDriver;
import io.ringraft.YieldThenWaitIdleStrategy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.function.Consumer;

/**
 * Waits until a datagram arrives on any socket of a media driver in Aeron's INVOKER mode (its receive endpoints
 * and the control sockets of its send endpoints), so that the thread that invokes the driver can sleep while idle
 * and still take the next message within microseconds ({@link YieldThenWaitIdleStrategy}).
 * <p>
 * Aeron's Java driver polls its sockets and offers no blocking wait. The driver keeps its sockets registered with
 * the {@link Selector}s of its two transport pollers; this waiter reads those selectors (package-private in Aeron
 * 1.46, reached by reflection once, at construction) and registers the same channels with a selector of its own,
 * which it blocks on. A channel may be registered with several selectors; the driver's own polling is unchanged.
 * The driver's channel set is read again when its size changes and every {@value #RESYNC_EVERY} waits, so a new
 * publication's or subscription's socket is waited on from the next wait on (and a closed channel leaves every
 * selector when it closes).
 * <p>
 * Only for a driver in INVOKER mode, used from the thread that invokes it: the driver's selectors are read without
 * locks. {@link #wake()} is for any thread.
 */
public final class DriverSocketWaiter implements YieldThenWaitIdleStrategy.Waiter, AutoCloseable
{
    static final int RESYNC_EVERY = 64;
    private static final Consumer<SelectionKey> IGNORE = key -> { };

    private static final java.lang.invoke.VarHandle WOKEN;

    static
    {
        try
        {
            WOKEN = java.lang.invoke.MethodHandles.lookup().findVarHandle(DriverSocketWaiter.class, "woken", boolean.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final Selector selector;
    @SuppressWarnings("unused") // through WOKEN
    private volatile boolean woken;
    private final Selector[] driverSelectors;
    private int knownKeys = -1;
    private int waitsSinceSync;

    private DriverSocketWaiter(final Selector[] driverSelectors)
    {
        this.driverSelectors = driverSelectors;
        try
        {
            this.selector = Selector.open();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot open a selector to wait on the media driver's sockets", ex);
        }
    }

    /**
     * @param driver a media driver in Aeron's INVOKER mode
     * @return a waiter on its sockets
     * @throws IllegalArgumentException if the driver is not in INVOKER mode
     * @throws IllegalStateException    if this version of Aeron does not expose its selectors as 1.46 does
     */
    public static DriverSocketWaiter of(final MediaDriver driver)
    {
        if (driver.sharedAgentInvoker() == null)
        {
            throw new IllegalArgumentException("the media driver runs its own threads (threadingMode=" +
                driver.context().threadingMode() + "): a socket waiter needs one in INVOKER mode, invoked by the waiting thread");
        }
        final MediaDriver.Context ctx = driver.context();
        try
        {
            return new DriverSocketWaiter(new Selector[] {
                selectorOf(invoke(ctx, "dataTransportPoller")), selectorOf(invoke(ctx, "controlTransportPoller"))});
        }
        catch (final ReflectiveOperationException | RuntimeException ex)
        {
            throw new IllegalStateException("cannot reach the media driver's socket selectors (Aeron " +
                io.aeron.driver.MediaDriverVersion.VERSION + "; written against 1.46): use a parking idle strategy instead", ex);
        }
    }

    private static Object invoke(final Object target, final String name) throws ReflectiveOperationException
    {
        final Method method = target.getClass().getDeclaredMethod(name);
        method.setAccessible(true);
        final Object result = method.invoke(target);
        if (result == null)
        {
            throw new IllegalStateException(name + " is not set");
        }
        return result;
    }

    private static Selector selectorOf(final Object poller) throws ReflectiveOperationException
    {
        final Field field = org.agrona.nio.TransportPoller.class.getDeclaredField("selector");
        field.setAccessible(true);
        return (Selector)field.get(poller);
    }

    @Override
    public boolean await(final long timeoutMillis)
    {
        try
        {
            if (++waitsSinceSync >= RESYNC_EVERY || keyCount() != knownKeys)
            {
                sync();
            }
            final int ready = selector.select(IGNORE, Math.max(1, timeoutMillis));
            return ready > 0 || (boolean)WOKEN.getAndSet(this, false);
        }
        catch (final ClosedSelectorException ex)
        {
            // closed by the owner: nothing to wait on any more
            return false;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("waiting on the media driver's sockets", ex);
        }
    }

    @Override
    public void wake()
    {
        WOKEN.setVolatile(this, true);
        selector.wakeup();
    }

    /** @return the driver's channels this waiter waits on (for tests) */
    int channels()
    {
        return selector.keys().size();
    }

    private int keyCount()
    {
        int n = 0;
        for (final Selector s : driverSelectors)
        {
            n += s.keys().size();
        }
        return n;
    }

    private void sync() throws IOException
    {
        waitsSinceSync = 0;
        knownKeys = keyCount();
        for (final Selector s : driverSelectors)
        {
            for (final SelectionKey key : s.keys())
            {
                final SelectableChannel channel = key.channel();
                if (key.isValid() && channel.isOpen() && channel.keyFor(selector) == null)
                {
                    try
                    {
                        channel.register(selector, SelectionKey.OP_READ);
                    }
                    catch (final java.nio.channels.ClosedChannelException | java.nio.channels.CancelledKeyException ex)
                    {
                        // closed meanwhile: nothing to wait on
                    }
                }
            }
        }
    }

    /** Closes its own selector; the driver's channels and selectors are the driver's. Idempotent. */
    @Override
    public void close()
    {
        try
        {
            selector.close();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("closing the socket waiter's selector", ex);
        }
    }
}
