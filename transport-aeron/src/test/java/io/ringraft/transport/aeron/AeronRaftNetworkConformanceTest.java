package io.ringraft.transport.aeron;

import io.ringraft.network.RaftNetwork;
import io.ringraft.testkit.conformance.RaftNetworkConformance;
import org.agrona.collections.Long2ObjectHashMap;

import java.io.File;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the {@link RaftNetworkConformance} suite against {@link AeronRaftNetwork}: each node with
 * its own embedded media driver, UDP on 127.0.0.1, 1 MiB terms (messages up to 128 KiB).
 */
class AeronRaftNetworkConformanceTest extends RaftNetworkConformance
{
    /** @return whether the nodes run in invoker mode */
    boolean invoker()
    {
        return false;
    }

    @Override
    protected Endpoints connect(final long... nodeIds)
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(nodeIds);
        final Long2ObjectHashMap<AeronRaftNetwork> networks = new Long2ObjectHashMap<>();
        try
        {
            for (final long id : nodeIds)
            {
                networks.put(id, new AeronRaftNetwork(new AeronTransportConfig()
                    .nodeId(id).clusterId(7).endpoints(endpoints).termLength(1024 * 1024).embeddedDriver(true).invoker(invoker())));
            }
        }
        catch (final RuntimeException ex)
        {
            networks.values().forEach(AeronRaftNetwork::close);
            throw ex;
        }
        return new Endpoints()
        {
            @Override
            public RaftNetwork endpoint(final long nodeId)
            {
                return networks.get(nodeId);
            }

            @Override
            public void close()
            {
                networks.values().forEach(AeronRaftNetwork::close);
            }
        };
    }

    @Override
    protected void assertReleased(final Endpoints endpoints, final long nodeId, final RaftNetwork closed)
    {
        final AeronRaftNetwork network = assertInstanceOf(AeronRaftNetwork.class, closed);
        assertTrue(network.isClosed());
        assertFalse(new File(network.aeronDirectoryName()).exists(), "the embedded driver's directory is deleted");
        assertFalse(network.isConnected(nodeId == 1 ? 2 : 1), "no publication after close");
    }
}
