package io.ringraft.transport.aeron;

import io.ringraft.network.TimeoutNow;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.util.Map;
import java.util.TreeMap;

/**
 * A node in a child JVM for {@link AeronRaftNetworkProcessTest}: answers every TimeoutNow with a
 * TimeoutNow of the same term back to its sender. Prints "READY aeronDir" once listening, and
 * exits by itself after a minute so that nothing outlives a broken test.
 * <p>
 * Arguments: nodeId clusterId endpoints, endpoints as {@code 1=127.0.0.1:4001,2=127.0.0.1:4002}.
 */
public final class EchoNode
{
    private EchoNode()
    {
    }

    /**
     * @param args nodeId clusterId endpoints
     */
    public static void main(final String[] args)
    {
        final long self = Long.parseLong(args[0]);
        final Map<Long, String> endpoints = new TreeMap<>();
        for (final String pair : args[2].split(","))
        {
            final String[] kv = pair.split("=", 2);
            endpoints.put(Long.parseLong(kv[0]), kv[1]);
        }
        try (AeronRaftNetwork network = new AeronRaftNetwork(new AeronTransportConfig()
            .nodeId(self).clusterId(Integer.parseInt(args[1])).endpoints(endpoints).termLength(64 * 1024).embeddedDriver(true)))
        {
            System.out.println("READY " + network.aeronDirectoryName());
            System.out.flush();
            final IdleStrategy idle = new BackoffIdleStrategy();
            final long end = System.nanoTime() + 60_000_000_000L;
            while (System.nanoTime() < end)
            {
                final int work = network.poll(m ->
                {
                    if (m instanceof TimeoutNow)
                    {
                        // One try: a lost echo is what an unreliable network may do, and the parent retries.
                        network.send(new TimeoutNow(self, m.from(), m.term()));
                    }
                }, 10);
                idle.idle(work);
            }
        }
    }

    /** @return the argument form of {@code endpoints} */
    static String endpointsArg(final Map<Long, String> endpoints)
    {
        final StringBuilder sb = new StringBuilder();
        endpoints.forEach((id, endpoint) -> sb.append(sb.length() == 0 ? "" : ",").append(id).append('=').append(endpoint));
        return sb.toString();
    }
}
