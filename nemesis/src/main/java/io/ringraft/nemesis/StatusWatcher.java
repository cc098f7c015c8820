package io.ringraft.nemesis;

import io.ringraft.client.NodeStatus;
import io.ringraft.engine.Role;
import io.ringraft.server.kv.KvClient;
import io.ringraft.server.kv.KvNodeStatus;
import io.ringraft.server.kv.KvProtocol;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Asks every node for its status a few times a second, from its own thread and client: the leader
 * now (for faults aimed at it) and every change of leader (for the report).
 */
final class StatusWatcher implements AutoCloseable
{
    /**
     * A change of the leader seen from outside.
     *
     * @param atNs   when it was seen (the run's clock)
     * @param leader the new leader, 0 for none
     * @param term   its term
     */
    record LeaderChange(long atNs, long leader, long term)
    {
    }

    private final Map<Long, String> endpoints;
    private final int clusterId;
    private final String aeronDirectory;
    private volatile KvClient client;
    private final List<String> sessionsClosed = new ArrayList<>();
    private final long originNs;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final List<LeaderChange> changes = new ArrayList<>();
    private final Thread thread;
    private volatile long leader;
    private volatile long leaderTerm;
    private volatile long maxTerm;

    StatusWatcher(final Map<Long, String> endpoints, final int clusterId, final String aeronDirectory, final long originNs)
    {
        this.endpoints = endpoints;
        this.originNs = originNs;
        this.clusterId = clusterId;
        this.aeronDirectory = aeronDirectory;
        this.client = newClient();
        this.thread = new Thread(this::run, "nemesis-status");
        thread.setDaemon(true);
    }

    private KvClient newClient()
    {
        return new KvClient(new KvClient.Context().endpoints(new ArrayList<>(endpoints.values())).clusterId(clusterId)
            .timeout(400, TimeUnit.MILLISECONDS).aeronDirectory(aeronDirectory));
    }

    /** @return when the watcher found its client's session closed in the cluster (and opened a new one), e.g. "300.6 s" */
    synchronized List<String> sessionsClosed()
    {
        return new ArrayList<>(sessionsClosed);
    }

    /** Starts watching. */
    void start()
    {
        thread.start();
    }

    /** @return the node that leads with the highest term seen in the last round, or 0 */
    long leader()
    {
        return leader;
    }

    /** @return the highest term any node reported so far (candidates' terms included) */
    long maxTerm()
    {
        return maxTerm;
    }

    /** @return the changes of leader seen so far */
    synchronized List<LeaderChange> changes()
    {
        return new ArrayList<>(changes);
    }

    /**
     * Waits until some node leads.
     *
     * @return the leader, or 0 if none within the timeout
     */
    long awaitLeader(final long timeoutMs)
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (leader == 0 && System.nanoTime() < deadline)
        {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
        return leader;
    }

    private void run()
    {
        boolean reopening = false;
        while (!stop.get())
        {
            if (client.client().isSessionClosed())
            {
                // Expired in the cluster: a member then answers no status, and a leader would never be seen again.
                if (!reopening)
                {
                    reopening = true;
                    synchronized (this)
                    {
                        sessionsClosed.add(String.format(java.util.Locale.ROOT, "%.1f s", (System.nanoTime() - originNs) / 1e9));
                    }
                }
                try
                {
                    final KvClient fresh = newClient();
                    client.close();
                    client = fresh;
                    reopening = false;
                }
                catch (final RuntimeException ex)
                {
                    // no leader opened a session yet: tried again next round
                }
            }
            // The status alone (no state digest): a node answers it also while there is no leader.
            final Map<Long, NodeStatus> round = pollStatus();
            long newLeader = 0;
            long term = -1;
            for (final NodeStatus s : round.values())
            {
                if (s != null && s.term() > maxTerm)
                {
                    maxTerm = s.term();
                }
                if (s != null && Role.LEADER.name().equals(s.role()) && s.term() > term)
                {
                    newLeader = s.nodeId();
                    term = s.term();
                }
            }
            if (newLeader != leader || (newLeader != 0 && term != leaderTerm))
            {
                synchronized (this)
                {
                    changes.add(new LeaderChange(System.nanoTime() - originNs, newLeader, Math.max(term, 0)));
                }
                leader = newLeader;
                leaderTerm = term;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
    }

    /** One round of statuses alone: every node's, null for a node that did not answer. */
    private Map<Long, NodeStatus> pollStatus()
    {
        return round(client::submitNodeStatus);
    }

    /** One round: every node's status and state digest, null for a node that did not answer. */
    Map<Long, KvNodeStatus> poll()
    {
        return round(client::submitStatus);
    }

    /** Asks every node at once through {@code submit} and polls the client until each has answered (or given up). */
    private <T> Map<Long, T> round(final BiConsumer<String, Consumer<T>> submit)
    {
        final Map<Long, T> answers = new HashMap<>();
        final int[] outstanding = {endpoints.size()};
        for (final Map.Entry<Long, String> e : endpoints.entrySet())
        {
            submit.accept(e.getValue(), s ->
            {
                answers.put(e.getKey(), s);
                outstanding[0]--;
            });
        }
        while (outstanding[0] > 0)
        {
            if (client.poll() == 0)
            {
                LockSupport.parkNanos(100_000);
            }
        }
        return answers;
    }

    /** Stops the thread and closes the client. */
    @Override
    public void close()
    {
        stop.set(true);
        try
        {
            thread.join(5_000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        if (!thread.isAlive())
        {
            client.close();
        }
    }
}
