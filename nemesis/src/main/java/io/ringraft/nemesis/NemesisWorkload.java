package io.ringraft.nemesis;

import io.ringraft.testkit.history.OpKind;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * Concurrent clients on a few hot keys: each logical client keeps one operation in flight (a put
 * of a value unique to the run, a linearizable get, or a CAS from the value it last saw), then
 * thinks for a few milliseconds. The logical clients are spread over threads, each thread with
 * its own {@link NemesisClient}. Every operation is recorded with its invocation and completion
 * times for the history.
 */
final class NemesisWorkload
{
    /**
     * One recorded operation.
     *
     * @param client     the logical client
     * @param kind       PUT, GET or CAS
     * @param key        the key
     * @param value      the new value (PUT, CAS)
     * @param expected   the expected value of a CAS ({@code null} = absent)
     * @param invokeNs   when it was invoked (the run's clock)
     * @param completeNs when it ended
     * @param result     how it ended
     */
    record Op(int client, OpKind kind, String key, String value, String expected, long invokeNs, long completeNs,
        NemesisClient.Result result)
    {
        boolean isWrite()
        {
            return kind != OpKind.GET;
        }
    }

    private final List<String> sessionsClosed = new ArrayList<>();
    private final int clients;
    private final int threads;
    private final int keys;
    private final long thinkNs;
    private final long seed;
    private final long originNs;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final List<List<Op>> recorded = new ArrayList<>();
    private final List<Thread> running = new ArrayList<>();
    private final List<Throwable> errors = new ArrayList<>();

    /**
     * @param clients  logical clients
     * @param threads  threads (each with one {@link NemesisClient})
     * @param keys     hot keys
     * @param thinkMs  pause between a client's operations
     * @param seed     seeds the operation mix
     * @param originNs the run's time zero
     */
    NemesisWorkload(final int clients, final int threads, final int keys, final long thinkMs, final long seed, final long originNs)
    {
        this.clients = clients;
        this.threads = Math.min(threads, clients);
        this.keys = keys;
        this.thinkNs = thinkMs * 1_000_000L;
        this.seed = seed;
        this.originNs = originNs;
    }

    /** Starts the threads; each takes a client from {@code clientFactory}. */
    void start(final Supplier<NemesisClient> clientFactory)
    {
        for (int t = 0; t < threads; t++)
        {
            final List<Op> ops = new ArrayList<>();
            recorded.add(ops);
            final int first = t;
            final Thread thread = new Thread(() ->
            {
                try
                {
                    // A client whose session closed in the cluster (expired) fails everything at once: the thread
                    // replaces it with a new client and session, and the report lists when.
                    final Driver driver = new Driver(first);
                    while (!stop.get())
                    {
                        try (NemesisClient client = clientFactory.get())
                        {
                            driver.drive(client, ops);
                            if (client.isSessionClosed())
                            {
                                synchronized (sessionsClosed)
                                {
                                    sessionsClosed.add(String.format(java.util.Locale.ROOT, "%.1f s (thread %d)",
                                        (System.nanoTime() - originNs) / 1e9, first));
                                }
                            }
                        }
                    }
                }
                catch (final Throwable ex)
                {
                    synchronized (errors)
                    {
                        errors.add(ex);
                    }
                }
            }, "nemesis-client-" + t);
            thread.setDaemon(true);
            running.add(thread);
            thread.start();
        }
    }

    /** Stops invoking and waits for the threads to end, reporting nothing (idempotent; after {@link #stopAndJoin()}, at once). */
    void stop()
    {
        stop.set(true);
        for (final Thread t : running)
        {
            try
            {
                t.join(60_000);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Stops invoking, waits for the operations in flight to end (each within the client's timeout). */
    void stopAndJoin()
    {
        stop.set(true);
        for (final Thread t : running)
        {
            try
            {
                t.join(60_000);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (errors)
        {
            if (!errors.isEmpty())
            {
                throw new IllegalStateException("a client thread failed: " + errors.get(0), errors.get(0));
            }
        }
    }

    /** @return every operation recorded, after {@link #stopAndJoin()} */
    List<Op> operations()
    {
        final List<Op> all = new ArrayList<>();
        recorded.forEach(all::addAll);
        return all;
    }

    /**
     * Reads every key once with a fresh client, after the run healed: recorded like the others, so
     * the check sees that no acknowledged write was lost.
     */
    List<Op> finalReads(final NemesisClient client)
    {
        final List<Op> ops = new ArrayList<>();
        for (int k = 0; k < keys; k++)
        {
            final String key = key(k);
            final long invoke = System.nanoTime() - originNs;
            final NemesisClient.Result[] answer = new NemesisClient.Result[1];
            client.get(key, r -> answer[0] = r);
            while (answer[0] == null)
            {
                if (client.poll() == 0)
                {
                    LockSupport.parkNanos(50_000);
                }
            }
            ops.add(new Op(clients, OpKind.GET, key, null, null, invoke, System.nanoTime() - originNs, answer[0]));
        }
        return ops;
    }

    /** @return when a client's session was found closed in the cluster (and the client replaced), e.g. "1575.2 s (thread 1)" */
    List<String> sessionsClosed()
    {
        synchronized (sessionsClosed)
        {
            return new ArrayList<>(sessionsClosed);
        }
    }

    /** One thread's logical clients: what they saw and how far their values count, kept when the thread replaces its client. */
    private final class Driver
    {
        private final List<Integer> mine = new ArrayList<>();
        private final int n;
        private final SplittableRandom random;
        private final long[] sequence;
        private final String[][] lastSeen;

        Driver(final int thread)
        {
            for (int c = thread; c < clients; c += threads)
            {
                mine.add(c);
            }
            n = mine.size();
            random = new SplittableRandom(seed * 31 + thread);
            sequence = new long[n];
            lastSeen = new String[n][keys];
        }

        /** Drives the logical clients until the workload stops or the client's session is closed (then with nothing in flight). */
        void drive(final NemesisClient client, final List<Op> ops)
        {
            final boolean[] busy = new boolean[n];
            final long[] nextAt = new long[n];
            final int[] inFlight = new int[1];
            boolean closed = false;
            while ((!stop.get() && !closed) || inFlight[0] > 0)
            {
                closed = closed || client.isSessionClosed();
                final long now = System.nanoTime();
                for (int i = 0; i < n && !stop.get() && !closed; i++)
                {
                    if (busy[i] || now < nextAt[i])
                    {
                        continue;
                    }
                    busy[i] = true;
                    inFlight[0]++;
                    final int slot = i;
                    final int clientId = mine.get(i);
                    final int k = random.nextInt(keys);
                    final String key = key(k);
                    final int dice = random.nextInt(10);
                    final long invoke = now - originNs;
                    final String value = "c" + clientId + "-" + (++sequence[i]);
                    final OpKind kind = dice < 4 ? OpKind.PUT : dice < 8 ? OpKind.GET : OpKind.CAS;
                    final String expected = kind == OpKind.CAS ? lastSeen[slot][k] : null;
                    final NemesisClient.Callback done = r ->
                    {
                        final long end = System.nanoTime();
                        ops.add(new Op(clientId, kind, key, kind == OpKind.GET ? null : value, expected, invoke, end - originNs, r));
                        if (r.outcome() == NemesisClient.Outcome.OK)
                        {
                            if (kind == OpKind.PUT || (kind == OpKind.CAS && "true".equals(r.value())))
                            {
                                lastSeen[slot][k] = value;
                            }
                            else if (kind == OpKind.GET)
                            {
                                lastSeen[slot][k] = r.value();
                            }
                        }
                        busy[slot] = false;
                        inFlight[0]--;
                        nextAt[slot] = end + thinkNs / 2 + random.nextLong(thinkNs + 1);
                    };
                    switch (kind)
                    {
                        case PUT -> client.put(key, value, done);
                        case GET -> client.get(key, done);
                        default -> client.cas(key, expected, value, done);
                    }
                }
                if (client.poll() == 0)
                {
                    LockSupport.parkNanos(200_000);
                }
            }
        }
    }

    static String key(final int k)
    {
        return "k" + k;
    }

    @Override
    public String toString()
    {
        return "NemesisWorkload{" + clients + " clients on " + threads + " threads, " + keys + " keys, think " + thinkNs / 1_000_000 +
            " ms}";
    }
}
