package io.ringraft;

import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * The idle strategy of a node whose whole duty cycle (media driver, Raft node, client ingress) runs on one thread
 * ({@link ThreadingMode#INVOKER}): after work it spins (by default not at all), yields until {@code yieldNanos} have passed
 * without work, then <em>waits on the node's sockets</em> instead of parking: it blocks until a datagram arrives
 * for the node's media driver, another thread hands the node input ({@link #wake()}), or the wait times out.
 * <p>
 * Why: a parked thread sees the next message only when its park ends, so an idle node must choose between waking
 * often (CPU burnt while idle) and waking late (the first request after a pause waits for the park). A node that
 * waits on its sockets wakes when the datagram arrives, within microseconds, and otherwise sleeps long: it waits
 * {@code shortWaitMillis} at a time, and once without traffic for {@code longIdleNanos} (a truly idle cluster: only
 * heartbeats), {@code longWaitMillis} at a time, which keeps the media driver's and the node's timers (heartbeats,
 * status messages) running. Work that follows a wait that timed out is such a timer: the node runs
 * {@value #FLUSH_CYCLES} more duty cycles (to send what it offered) and waits again; a wait ended by a datagram or a
 * {@link #wake()} (traffic) brings it back to spinning and yielding: fully when the wait was short (steady traffic),
 * briefly ({@value #POST_WAKE_SPINS} spins and {@value #POST_WAKE_YIELD_NANOS} ns of yields) when it was long, since a
 * lone heartbeat should not cost a whole yield window. The {@link Waiter} does the blocking (for
 * Aeron's embedded media driver: {@code io.ringraft.transport.aeron.EmbeddedMediaDriver#socketWaiter()}).
 * <p>
 * Input from other threads does not arrive on a socket: whoever hands the node input calls {@link #wake()}
 * afterwards ({@link Raft#inputSignal(Runnable)} does it for every client write, read barrier and admin call),
 * and so does the log storage when a sync completes on its own thread
 * ({@link io.ringraft.storage.RaftLogStorage#durabilitySignal}); before each wait the strategy asks
 * {@code pendingInput} (e.g. {@link Raft#hasPendingInput()}, which also tells of a log sync completed since the last
 * duty cycle) whether input arrived between the last duty cycle and the wait: a write or a sync races a wait only into
 * a wake, never into a missed one. Input nobody signals (a snapshot built
 * on its own thread, a storage that does not implement the signal) is seen when the wait times out, as with a
 * park of the same length.
 * <p>
 * Without a waiter ({@link #bind} not called) it parks for the wait's length: correct, but late to wake.
 * Not thread-safe except {@link #wake()}: one instance per duty cycle, as every {@link IdleStrategy}.
 */
public final class YieldThenWaitIdleStrategy implements IdleStrategy
{
    /** What blocks until a node's socket has a datagram, {@link #wake()} is called, or the timeout passes. */
    public interface Waiter
    {
        /**
         * Blocks until a datagram can be read on one of the node's sockets, {@link #wake()} is called (or was called
         * since the last wait), or {@code timeoutMillis} pass.
         *
         * @param timeoutMillis the longest wait, at least 1
         * @return true if it ended because of a datagram or a {@link #wake()}, false if the time ran out
         */
        boolean await(long timeoutMillis);

        /** Ends the current wait, or the next one at once if none is in progress. Any thread. */
        void wake();
    }

    /**
     * Spins after work before the first yield: none. A "spin" here is a whole duty cycle of the composed node,
     * which polls every socket of its media driver (a system call each) and keeps the core from the host's other
     * threads; yielding at once lets the next hop of a commit (another node, the client) run. Measured in shape A
     * of the deployed benchmark (3 composed nodes and a client, 2 cores): 20 spins against none took the window-1
     * median round trip from 114-146 to 48-52 µs and window-256 throughput from 0.47-0.49 to 0.50-0.67 M/s.
     */
    public static final int DEFAULT_MAX_SPINS = 0;
    /** Time without work spent yielding before waiting: a few round trips of the network. */
    public static final long DEFAULT_YIELD_NANOS = YieldThenParkIdleStrategy.DEFAULT_YIELD_NANOS;
    /** A wait while the node was recently busy. */
    public static final long DEFAULT_SHORT_WAIT_MILLIS = 1;
    /** Time without traffic after which the node waits longer. */
    public static final long DEFAULT_LONG_IDLE_NANOS = 2_000_000;
    /** A wait once the node is idle: at most 100 wake-ups a second from timeouts. */
    public static final long DEFAULT_LONG_WAIT_MILLIS = 10;

    /** Duty cycles run without waiting after work that followed a timed-out wait. */
    static final int FLUSH_CYCLES = 2;
    /** Spins after traffic woke a wait. */
    static final int POST_WAKE_SPINS = 4;
    /** Yields after traffic woke a wait. */
    static final long POST_WAKE_YIELD_NANOS = 20_000;
    /** A wait at least this long before traffic woke it makes the following activity brief. */
    static final long BRIEF_AFTER_WAIT_NANOS = 1_000_000;
    private static final VarHandle WAITING;

    static
    {
        try
        {
            WAITING = MethodHandles.lookup().findVarHandle(YieldThenWaitIdleStrategy.class, "waiting", boolean.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final SpinThenYield spinThenYield;
    private final long shortWaitMillis;
    private final long longIdleNanos;
    private final long longWaitMillis;
    private final NanoClock clock;
    private volatile Waiter waiter;
    private volatile BooleanSupplier pendingInput = () -> false;
    @SuppressWarnings("unused") // through WAITING
    private volatile boolean waiting;
    private boolean waitPhase;
    private boolean lastWaitWoken;
    private int flushCycles;
    private boolean brief;
    private long lastWaitNanos;
    private long waits;
    private long wakes;

    /** With the defaults: no spins, 100 µs of yields, waits of 1 ms, and of 10 ms after 2 ms without traffic. */
    public YieldThenWaitIdleStrategy()
    {
        this(DEFAULT_MAX_SPINS, DEFAULT_YIELD_NANOS, DEFAULT_SHORT_WAIT_MILLIS, DEFAULT_LONG_IDLE_NANOS, DEFAULT_LONG_WAIT_MILLIS);
    }

    /**
     * @param maxSpins        spins after work before yielding, at least 0
     * @param yieldNanos      time without work spent yielding before waiting, at least 0
     * @param shortWaitMillis a wait while the node was recently busy, at least 1
     * @param longIdleNanos   time without work after which waits last {@code longWaitMillis}, at least 0
     * @param longWaitMillis  a wait once idle that long, at least {@code shortWaitMillis}: bounds how late the node
     *                        sees input nobody signals and its own timers (keep it well below the heartbeat interval)
     * @throws IllegalArgumentException naming the bad setting
     */
    public YieldThenWaitIdleStrategy(final int maxSpins, final long yieldNanos, final long shortWaitMillis, final long longIdleNanos,
        final long longWaitMillis)
    {
        this(maxSpins, yieldNanos, shortWaitMillis, longIdleNanos, longWaitMillis, SystemNanoClock.INSTANCE);
    }

    YieldThenWaitIdleStrategy(final int maxSpins, final long yieldNanos, final long shortWaitMillis, final long longIdleNanos,
        final long longWaitMillis, final NanoClock clock)
    {
        this.spinThenYield = new SpinThenYield(maxSpins, yieldNanos, clock);
        if (shortWaitMillis < 1)
        {
            throw new IllegalArgumentException("shortWaitMillis=" + shortWaitMillis + " must be at least 1");
        }
        if (longIdleNanos < 0)
        {
            throw new IllegalArgumentException("longIdleNanos=" + longIdleNanos + " must be at least 0");
        }
        if (longWaitMillis < shortWaitMillis)
        {
            throw new IllegalArgumentException("longWaitMillis=" + longWaitMillis + " must be at least shortWaitMillis=" + shortWaitMillis);
        }
        this.shortWaitMillis = shortWaitMillis;
        this.longIdleNanos = longIdleNanos;
        this.longWaitMillis = longWaitMillis;
        this.clock = clock;
    }

    /**
     * Gives the strategy what it waits on. Call before the duty cycle starts, or from its thread.
     *
     * @param waiter       blocks until the node's sockets have a datagram or {@link #wake()}
     * @param pendingInput true if another thread handed the node input it has not taken yet
     * @return this
     */
    public YieldThenWaitIdleStrategy bind(final Waiter waiter, final BooleanSupplier pendingInput)
    {
        if (waiter == null || pendingInput == null)
        {
            throw new IllegalArgumentException("waiter and pendingInput are required");
        }
        this.pendingInput = pendingInput;
        this.waiter = waiter;
        return this;
    }

    /** @return true once {@link #bind} gave it a waiter */
    public boolean isBound()
    {
        return waiter != null;
    }

    @Override
    public void idle(final int workCount)
    {
        if (workCount <= 0)
        {
            idle();
        }
        else if (waitPhase && !lastWaitWoken)
        {
            // Work after a wait that timed out: the node's and the driver's timers (a heartbeat, a status
            // message). Run a couple more duty cycles, so that what the work offered is sent, then wait again.
            flushCycles = FLUSH_CYCLES;
        }
        else
        {
            if (waitPhase)
            {
                // Traffic woke a wait. After a long wait it is likely a lone message (a heartbeat, a status
                // message): spin and yield briefly, then wait again (the next datagram wakes the node at once).
                // After a short one the traffic is steady: spin and yield fully, as the next message is near.
                brief = lastWaitNanos >= BRIEF_AFTER_WAIT_NANOS;
            }
            reset();
            if (brief)
            {
                spinThenYield.brief(POST_WAKE_SPINS, POST_WAKE_YIELD_NANOS);
            }
        }
    }

    @Override
    public void idle()
    {
        if (waitPhase)
        {
            if (flushCycles > 0)
            {
                flushCycles--;
                return;
            }
            await();
            return;
        }
        if (spinThenYield.idle())
        {
            return;
        }
        waitPhase = true;
        await();
    }

    private void await()
    {
        final long millis = clock.nanoTime() - spinThenYield.idleSince() >= longIdleNanos ? longWaitMillis : shortWaitMillis;
        final Waiter w = waiter;
        if (w == null)
        {
            LockSupport.parkNanos(millis * 1_000_000);
            lastWaitWoken = false;
            return;
        }
        WAITING.setVolatile(this, true);
        VarHandle.fullFence(); // the flag is visible before the check: pairs with wake's fence before its read
        try
        {
            if (pendingInput.getAsBoolean())
            {
                lastWaitWoken = true;
            }
            else
            {
                waits++;
                final long started = clock.nanoTime();
                lastWaitWoken = w.await(millis);
                lastWaitNanos = clock.nanoTime() - started;
            }
        }
        finally
        {
            WAITING.setVolatile(this, false);
        }
    }

    /**
     * Called by a thread that handed the node input: ends the node's wait if it is in one. Cheap when the node
     * is busy (a fence and a read); a system call only when it waits.
     */
    public void wake()
    {
        VarHandle.fullFence(); // the input is visible before the flag is read
        final Waiter w = waiter;
        if (w != null && (boolean)WAITING.getVolatile(this))
        {
            wakes++;
            w.wake();
        }
    }

    @Override
    public void reset()
    {
        spinThenYield.reset();
        waitPhase = false;
        flushCycles = 0;
    }

    /** @return waits begun (for tests and diagnostics; read on the duty cycle's thread) */
    public long waits()
    {
        return waits;
    }

    /** @return wake-ups sent by {@link #wake()} to a waiting node (racy count from any thread: diagnostics) */
    public long wakes()
    {
        return wakes;
    }

    @Override
    public String alias()
    {
        return "yield-then-wait";
    }

    @Override
    public String toString()
    {
        return "YieldThenWaitIdleStrategy{" + spinThenYield + ", shortWaitMillis=" +
            shortWaitMillis + ", longIdleNanos=" + longIdleNanos + ", longWaitMillis=" + longWaitMillis + "}";
    }
}
