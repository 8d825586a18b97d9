//! The floor `bench/edge-pools.mjs` compares the edge worker with: a Rust worker that forwards
//! every request to the origin in its `ORIGIN` variable and returns the response as it is — no
//! routing, headers, signing, retries or logging. Built with the same tools and profile as
//! edge-worker, and run with the same `[assets]` setup, so the difference is our own code.
//! With a `LOG` variable it also logs one line per request (`console.log`) with the same fields
//! and length as the edge's request log, to measure what the platform charges for that line
//! apart from what our code does.

#[cfg(target_arch = "wasm32")]
mod worker_main {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Request, RequestInit, Response, WorkerGlobalScope};
    use worker::{console_log, event, Context, Env};

    #[event(fetch)]
    async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
        let started = js_sys::Date::now();
        let origin = env.var("ORIGIN")?.to_string();
        let url = req.url();
        let path = url
            .find("://")
            .and_then(|i| url[i + 3..].find('/').map(|j| i + 3 + j));
        let init = RequestInit::new();
        init.set_method(&req.method());
        init.set_headers(&req.headers());
        if let Some(body) = req.body() {
            init.set_body(&body);
        }
        let target = format!("{origin}{}", path.map_or("/", |p| &url[p..]));
        let request = Request::new_with_str_and_init(&target, &init)?;
        let global: WorkerGlobalScope = js_sys::global().unchecked_into();
        let resp: Response = JsFuture::from(global.fetch_with_request(&request))
            .await?
            .unchecked_into();
        if env.var("LOG").is_ok() {
            let path = path.map_or("/", |p| &url[p..]);
            let path = path.split_once('?').map_or(path, |(p, _)| p);
            console_log!(
                "{{\"event\":\"proxy\",\"ts\":{},\"method\":\"{}\",\"path\":\"{}\",\"route\":\"/\",\"pool\":\"main\",\"origin\":\"{}\",\"attempts\":1,\"status\":{},\"latency_ms\":{}}}",
                started as u64,
                req.method(),
                path,
                origin,
                resp.status(),
                (js_sys::Date::now() - started) as u64
            );
        }
        Ok(resp)
    }
}
