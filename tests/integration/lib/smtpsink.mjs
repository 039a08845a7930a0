// smtpsink.mjs - a local SMTP server for tests (node `net` and `tls`):
// enough ESMTP for libcurl (EHLO/HELO, MAIL, RCPT, DATA with
// dot-unstuffing, RSET, NOOP, QUIT), and STARTTLS when given a
// certificate. Without one it offers no STARTTLS, so the server under test
// reaches it only with MDT_SMTP_INSECURE_LOOPBACK=1 (smtp.h).
//
//   const sink = await startSmtpSink({ tls: { cert, key } });   // tls optional
//   ... sink.port, sink.messages ([{from, to: [...], data, tls}]), sink.close()

import net from 'node:net';
import tls from 'node:tls';

export async function startSmtpSink({ tls: tlsOpts } = {}) {
    const messages = [];
    const sockets = new Set();
    const context = tlsOpts ? tls.createSecureContext(tlsOpts) : null;

    // serve(sock, secure) - one SMTP session on sock (plain or TLS).
    const serve = (sock, secure) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        sock.on('error', () => {});
        let buf = '';
        let inData = false;
        let cur = null;
        const reset = () => (cur = { from: null, to: [], data: '', tls: secure });
        reset();
        const say = (line) => sock.write(`${line}\r\n`);
        const onData = (chunk) => {
            buf += chunk;
            for (;;) {
                if (inData) {
                    const end = buf.indexOf('\r\n.\r\n');
                    if (end < 0) return;
                    cur.data = buf.slice(0, end + 2).replace(/^\.\./gm, '.');
                    buf = buf.slice(end + 5);
                    inData = false;
                    messages.push(cur);
                    reset();
                    say('250 queued');
                    continue;
                }
                const nl = buf.indexOf('\r\n');
                if (nl < 0) return;
                const line = buf.slice(0, nl);
                buf = buf.slice(nl + 2);
                if (command(line) === 'starttls') return;
            }
        };
        const command = (line) => {
            const verb = line.split(' ')[0].toUpperCase();
            if (verb === 'EHLO') {
                sock.write(`250-sink.test\r\n250-8BITMIME\r\n${context && !secure ? '250-STARTTLS\r\n' : ''}250 SIZE 10485760\r\n`);
            } else if (verb === 'HELO') say('250 sink.test');
            else if (verb === 'STARTTLS' && context && !secure) {
                say('220 go ahead');
                sock.removeListener('data', onData);
                serve(new tls.TLSSocket(sock, { isServer: true, secureContext: context }), true);
                return 'starttls';
            } else if (verb === 'MAIL') {
                reset();
                cur.from = line.replace(/^MAIL FROM:\s*/i, '').split(' ')[0].replace(/[<>]/g, '');
                say('250 ok');
            } else if (verb === 'RCPT') {
                cur.to.push(line.replace(/^RCPT TO:\s*/i, '').replace(/[<>]/g, '').trim());
                say('250 ok');
            } else if (verb === 'DATA') {
                inData = true;
                say('354 end with <CRLF>.<CRLF>');
            } else if (verb === 'RSET') {
                reset();
                say('250 ok');
            } else if (verb === 'NOOP') say('250 ok');
            else if (verb === 'QUIT') {
                say('221 bye');
                sock.end();
            } else say('502 not implemented');
            return null;
        };
        sock.setEncoding('utf8');
        sock.on('data', onData);
    };

    const server = net.createServer((sock) => {
        serve(sock, false);
        sock.write('220 sink.test ESMTP test sink\r\n');
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        port: server.address().port,
        messages,
        close: () =>
            new Promise((resolve) => {
                for (const s of sockets) s.destroy();
                server.close(() => resolve());
            }),
    };
}
