// smtpsink.mjs - a local SMTP server for tests (node `net`): enough ESMTP
// for libcurl (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET,
// NOOP, QUIT). It offers no STARTTLS: the server under test reaches it
// only with MDT_SMTP_INSECURE_LOOPBACK=1 (smtp.h), and without that flag
// its send must fail, which a test checks too.
//
//   const sink = await startSmtpSink();
//   ... sink.port, sink.messages ([{from, to: [...], data}]), sink.close()

import net from 'node:net';

export async function startSmtpSink() {
    const messages = [];
    const sockets = new Set();
    const server = net.createServer((sock) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        sock.on('error', () => {});
        let buf = '';
        let inData = false;
        let cur = { from: null, to: [], data: '' };
        const say = (line) => sock.write(`${line}\r\n`);
        say('220 sink.test ESMTP test sink');
        const command = (line) => {
            const verb = line.slice(0, 4).toUpperCase();
            if (verb === 'EHLO') {
                sock.write('250-sink.test\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n');
            } else if (verb === 'HELO') say('250 sink.test');
            else if (verb === 'MAIL') {
                cur = { from: line.replace(/^MAIL FROM:\s*/i, '').replace(/[<>]/g, '').split(' ')[0], to: [], data: '' };
                say('250 ok');
            } else if (verb === 'RCPT') {
                cur.to.push(line.replace(/^RCPT TO:\s*/i, '').replace(/[<>]/g, '').trim());
                say('250 ok');
            } else if (verb === 'DATA') {
                inData = true;
                say('354 end with <CRLF>.<CRLF>');
            } else if (verb === 'RSET') {
                cur = { from: null, to: [], data: '' };
                say('250 ok');
            } else if (verb === 'NOOP') say('250 ok');
            else if (verb === 'QUIT') {
                say('221 bye');
                sock.end();
            } else say('502 not implemented');
        };
        sock.setEncoding('utf8');
        sock.on('data', (chunk) => {
            buf += chunk;
            for (;;) {
                if (inData) {
                    const end = buf.indexOf('\r\n.\r\n');
                    if (end < 0) return;
                    const raw = buf.slice(0, end + 2);
                    buf = buf.slice(end + 5);
                    inData = false;
                    cur.data = raw.replace(/^\.\./gm, '.');
                    messages.push(cur);
                    cur = { from: null, to: [], data: '' };
                    say('250 queued');
                    continue;
                }
                const nl = buf.indexOf('\r\n');
                if (nl < 0) return;
                const line = buf.slice(0, nl);
                buf = buf.slice(nl + 2);
                command(line);
            }
        });
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
