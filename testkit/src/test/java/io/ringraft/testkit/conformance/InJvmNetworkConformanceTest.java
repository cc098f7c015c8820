package io.ringraft.testkit.conformance;

import io.ringraft.network.InJvmNetwork;
import io.ringraft.network.RaftNetwork;
import io.ringraft.network.TimeoutNow;
import org.agrona.collections.Long2ObjectHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Runs the {@link RaftNetworkConformance} suite against {@link InJvmNetwork}. */
class InJvmNetworkConformanceTest extends RaftNetworkConformance
{
    private InJvmNetwork hub;

    @Override
    protected Endpoints connect(final long... nodeIds)
    {
        hub = new InJvmNetwork(64);
        final Long2ObjectHashMap<RaftNetwork> endpoints = new Long2ObjectHashMap<>();
        for (final long id : nodeIds)
        {
            endpoints.put(id, hub.endpoint(id));
        }
        return new Endpoints()
        {
            @Override
            public RaftNetwork endpoint(final long nodeId)
            {
                return endpoints.get(nodeId);
            }

            @Override
            public void close()
            {
                endpoints.values().forEach(RaftNetwork::close);
            }
        };
    }

    @Override
    protected void assertReleased(final Endpoints endpoints, final long nodeId, final RaftNetwork closed)
    {
        // The hub forgot the endpoint: peers can no longer reach it, and the node may open a new one.
        final long peer = nodeId == 1 ? 2 : 1;
        assertEquals(RaftNetwork.NOT_CONNECTED, endpoints.endpoint(peer).send(new TimeoutNow(peer, nodeId, 1)));
        try (RaftNetwork reopened = hub.endpoint(nodeId))
        {
            assertEquals(RaftNetwork.SENT, endpoints.endpoint(peer).send(new TimeoutNow(peer, nodeId, 2)));
            assertEquals(1, reopened.poll(m -> assertEquals(new TimeoutNow(peer, nodeId, 2), m), 10),
                "the new endpoint gets only what was sent after it opened");
        }
    }
}
