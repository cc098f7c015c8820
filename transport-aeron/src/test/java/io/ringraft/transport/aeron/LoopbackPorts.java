package io.ringraft.transport.aeron;

import io.ringraft.Raft;
import io.ringraft.engine.Role;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.TreeMap;

/** Free UDP endpoints on 127.0.0.1 for tests (the kernel picks each port), and waiting for a leader among them. */
public final class LoopbackPorts
{
    private LoopbackPorts()
    {
    }

    /** @return a UDP port on 127.0.0.1 that was free a moment ago ({@link FreePorts#udpPort()}) */
    public static int freePort()
    {
        return FreePorts.udpPort();
    }

    /** @return "127.0.0.1:port" for each node, with distinct free ports */
    public static Map<Long, String> endpoints(final long... nodeIds)
    {
        final Map<Long, String> endpoints = new TreeMap<>();
        for (final long id : nodeIds)
        {
            String endpoint;
            do
            {
                endpoint = "127.0.0.1:" + freePort();
            }
            while (endpoints.containsValue(endpoint));
            endpoints.put(id, endpoint);
        }
        return endpoints;
    }

    /**
     * @param nodes  the cluster's nodes
     * @param except a node not to take (a stalled or failing one), or null
     * @return a live leader other than {@code except}, polled for up to 20 s
     * @throws AssertionError if none came up
     */
    public static Raft awaitLeader(final List<Raft> nodes, final Raft except) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline)
        {
            for (final Raft n : nodes)
            {
                if (n != except && n.failure() == null && n.role() == Role.LEADER)
                {
                    return n;
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no leader" + (except == null ? "" : " other than node " + except.nodeId()) + " within 20 s");
    }
}
