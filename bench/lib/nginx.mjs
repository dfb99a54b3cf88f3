/**
 * nginx as the standard peer of the HTTP-borne benchmarks (http, aws, git): one worker, upstream
 * keep-alive, access log off, temp files in the run's directory. Each bench states only what its
 * traffic needs beyond that (big bodies, streaming without buffering, long reads, the Host header).
 */
export function nginxProxyConfig(dir, port, upstreamPort, { workerConnections = 1024, keepalive = 16, unlimitedBody = false, location = [] } = {}) {
  return `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections ${workerConnections}; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive ${keepalive}; }
  server {
    listen 127.0.0.1:${port};
${unlimitedBody ? '    client_max_body_size 0;\n' : ''}    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
${location.map((l) => `      ${l};\n`).join('')}    }
  }
}`;
}
