package local.gateway.mongodb;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;

/**
 * The local MongoDB server of scripts/services: mongo-java-server over its H2 MVStore backend, on one address.
 *
 * <pre>
 * java -Xmx256m -cp 'CLASSES:LIB/*' local.gateway.mongodb.Launcher --host 127.0.0.1 --port 27017 \
 *     --data .services/mongodb/data/gateway.mv [--cache-mb 64] [--threads 8]
 * </pre>
 *
 * What it adds to the library:
 * <ul>
 * <li>It reports MongoDB 5.0 with wire version 13: the library's own 5.0 reports 8, which PyMongo 4.14 and later
 * refuse ("requires at least 9").</li>
 * <li>Durability: an acknowledged write is on disk before its answer leaves. After every command that left
 * unsaved changes the MVStore is committed, which writes the new chunk to the file (not fsync'd: it survives a
 * kill -9 of this process, which the page cache outlives, not a crash of the machine). Without this, MVStore
 * writes its changes on a background thread about once a second, and a kill -9 loses what that second held.</li>
 * <li>buildInfo names it ({@code localServer}), so the gateway reports "mongo-java-server" as its MongoDB.</li>
 * <li>SIGTERM closes the server: clients first, then the MVStore (a last commit and compaction).</li>
 * </ul>
 */
public final class Launcher {

    /** MongoDB 5.0 as PyMongo expects it: wire version 13. */
    static final MongoVersion MONGO_5_0 = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(5, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 13;
        }
    };

    /** The H2 backend, committing the MVStore before a write's answer is sent. */
    static final class DurableH2Backend extends H2Backend {
        private final String serverName;

        DurableH2Backend(MVStore store, String serverName) {
            super(store);
            this.serverName = serverName;
        }

        @Override
        public Document handleCommand(Channel channel, String database, String command, Document query) {
            try {
                Document response = super.handleCommand(channel, database, command, query);
                if ("buildinfo".equalsIgnoreCase(command)) {
                    response.put("localServer", serverName);
                }
                return response;
            } finally {
                // Also after a failed command: a bulk write that stopped half-way has written its first half.
                // Reads leave nothing unsaved and skip this; concurrent writers share one commit when they can.
                if (getMvStore().hasUnsavedChanges()) {
                    commit();
                }
            }
        }
    }

    private Launcher() {}

    public static void main(String[] args) {
        // slf4j-simple, to stdout: warnings and errors. A command's error goes back to its client; the wire handler
        // would also log each one (duplicate keys, "ns not found") with a stack trace, so its logger is off.
        defaultProperty("org.slf4j.simpleLogger.logFile", "System.out");
        defaultProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        defaultProperty("org.slf4j.simpleLogger.showDateTime", "true");
        defaultProperty("org.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoWireProtocolHandler", "off");
        String host = "127.0.0.1";
        int port = 27017;
        String data = null;
        int cacheMb = 64;
        int threads = 8;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--host" -> host = require(args[i], value);
                case "--port" -> port = Integer.parseInt(require(args[i], value));
                case "--data" -> data = require(args[i], value);
                case "--cache-mb" -> cacheMb = Integer.parseInt(require(args[i], value));
                case "--threads" -> threads = Integer.parseInt(require(args[i], value));
                default -> usage("unknown argument " + args[i]);
            }
            i++;
        }
        if (data == null) {
            usage("--data FILE is required");
        }

        MVStore store = new MVStore.Builder().fileName(data).cacheSize(cacheMb).open();
        String name = "mongo-java-server " + libraryVersion() + " (H2 MVStore)";
        DurableH2Backend backend = new DurableH2Backend(store, name);
        backend.version(MONGO_5_0);
        MongoServer server = new MongoServer(backend);
        // Commands run on the worker threads: more than the default 2 per core, so one long scan does not stall
        // every connection that shares its event loop.
        server.bind(new InetSocketAddress(host, port), 1, threads);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("stopping: closing clients, then the MVStore");
            server.shutdownNow();
            System.out.println("stopped");
        }, "shutdown"));
        System.out.printf("%s listening on %s:%d, wire version %d, data %s%n", name, host, port,
            MONGO_5_0.getWireVersion(), data);
    }

    private static void defaultProperty(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    private static String require(String flag, String value) {
        if (value == null) {
            usage(flag + " needs a value");
        }
        return value;
    }

    private static void usage(String why) {
        System.err.println("error: " + why);
        System.err.println("usage: Launcher --data FILE [--host 127.0.0.1] [--port 27017] [--cache-mb 64] [--threads 8]");
        System.exit(2);
    }

    /** The library's version, from its jar's name (its manifest has none). */
    static String libraryVersion() {
        String location = String.valueOf(MongoServer.class.getProtectionDomain().getCodeSource().getLocation());
        Matcher m = Pattern.compile("mongo-java-server-core-([0-9][^/]*)\\.jar").matcher(location);
        return m.find() ? m.group(1) : "unknown";
    }
}
