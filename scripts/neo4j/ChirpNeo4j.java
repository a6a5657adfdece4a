import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.QueryExecutionException;
import org.neo4j.io.ByteUnit;

/**
 * Runs Neo4j Community from its Maven Central jars, with Bolt and authentication on.
 *
 * Maven Central carries the Neo4j DBMS jars but not the server tarball, so this
 * small launcher stands in for bin/neo4j. Usage: ChirpNeo4j HOME HOST PORT
 * (the password comes from NEO4J_PASSWORD, the page cache size from NEO4J_PAGECACHE_MB).
 */
public final class ChirpNeo4j {
    public static void main(String[] args) throws InterruptedException {
        Path home = Path.of(args[0]);
        SocketAddress bolt = new SocketAddress(args[1], Integer.parseInt(args[2]));
        String password = System.getenv().getOrDefault("NEO4J_PASSWORD", "chirp-dev-password");
        long pageCacheMb = Long.parseLong(System.getenv().getOrDefault("NEO4J_PAGECACHE_MB", "512"));

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, bolt)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(pageCacheMb))
                .build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dbms.shutdown();
            stopped.countDown();
        }));
        try {
            setPassword(dbms, password);
        } catch (RuntimeException e) {
            e.printStackTrace();
            System.exit(1);
        }
        System.out.println("Neo4j ready, Bolt on " + bolt);
        stopped.await();
    }

    /** Sets the password of the neo4j user; a restart with the password already set keeps it. */
    private static void setPassword(DatabaseManagementService dbms, String password) {
        try {
            dbms.database("system").executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
        } catch (QueryExecutionException e) {
            if (!e.getMessage().contains("Old password and new password cannot be the same")) {
                throw e;
            }
        }
    }
}
