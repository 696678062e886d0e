// @smartapp/client, bundled for the console by `npm run bundle` in clients/typescript. Do not edit.

// node_modules/openapi-fetch/dist/index.mjs
var PATH_PARAM_RE = /\{[^{}]+\}/g;
var supportsRequestInitExt = () => {
  return typeof process === "object" && Number.parseInt(process?.versions?.node?.substring(0, 2)) >= 18 && process.versions.undici;
};
function randomID() {
  return Math.random().toString(36).slice(2, 11);
}
function createClient(clientOptions) {
  let {
    baseUrl = "",
    Request: CustomRequest = globalThis.Request,
    fetch: baseFetch = globalThis.fetch,
    querySerializer: globalQuerySerializer,
    bodySerializer: globalBodySerializer,
    pathSerializer: globalPathSerializer,
    headers: baseHeaders,
    requestInitExt = void 0,
    ...baseOptions
  } = { ...clientOptions };
  requestInitExt = supportsRequestInitExt() ? requestInitExt : void 0;
  baseUrl = removeTrailingSlash(baseUrl);
  const globalMiddlewares = [];
  async function coreFetch(schemaPath, fetchOptions) {
    const {
      baseUrl: localBaseUrl,
      fetch = baseFetch,
      Request: Request2 = CustomRequest,
      headers,
      params = {},
      parseAs = "json",
      querySerializer: requestQuerySerializer,
      bodySerializer = globalBodySerializer ?? defaultBodySerializer,
      pathSerializer: requestPathSerializer,
      body,
      middleware: requestMiddlewares = [],
      ...init
    } = fetchOptions || {};
    let finalBaseUrl = baseUrl;
    if (localBaseUrl) {
      finalBaseUrl = removeTrailingSlash(localBaseUrl) ?? baseUrl;
    }
    let querySerializer = typeof globalQuerySerializer === "function" ? globalQuerySerializer : createQuerySerializer(globalQuerySerializer);
    if (requestQuerySerializer) {
      querySerializer = typeof requestQuerySerializer === "function" ? requestQuerySerializer : createQuerySerializer({
        ...typeof globalQuerySerializer === "object" ? globalQuerySerializer : {},
        ...requestQuerySerializer
      });
    }
    const pathSerializer = requestPathSerializer || globalPathSerializer || defaultPathSerializer;
    const serializedBody = body === void 0 ? void 0 : bodySerializer(
      body,
      // Note: we declare mergeHeaders() both here and below because it’s a bit of a chicken-or-egg situation:
      // bodySerializer() needs all headers so we aren’t dropping ones set by the user, however,
      // the result of this ALSO sets the lowest-priority content-type header. So we re-merge below,
      // setting the content-type at the very beginning to be overwritten.
      // Lastly, based on the way headers work, it’s not a simple “present-or-not” check becauase null intentionally un-sets headers.
      mergeHeaders(baseHeaders, headers, params.header)
    );
    const finalHeaders = mergeHeaders(
      // with no body, we should not to set Content-Type
      serializedBody === void 0 || // if serialized body is FormData; browser will correctly set Content-Type & boundary expression
      serializedBody instanceof FormData ? {} : {
        "Content-Type": "application/json"
      },
      baseHeaders,
      headers,
      params.header
    );
    const finalMiddlewares = [...globalMiddlewares, ...requestMiddlewares];
    const requestInit = {
      redirect: "follow",
      ...baseOptions,
      ...init,
      body: serializedBody,
      headers: finalHeaders
    };
    let id;
    let options;
    let request = new Request2(
      createFinalURL(schemaPath, { baseUrl: finalBaseUrl, params, querySerializer, pathSerializer }),
      requestInit
    );
    let response;
    for (const key in init) {
      if (!(key in request)) {
        request[key] = init[key];
      }
    }
    if (finalMiddlewares.length) {
      id = randomID();
      options = Object.freeze({
        baseUrl: finalBaseUrl,
        fetch,
        parseAs,
        querySerializer,
        bodySerializer,
        pathSerializer
      });
      for (const m of finalMiddlewares) {
        if (m && typeof m === "object" && typeof m.onRequest === "function") {
          const result = await m.onRequest({
            request,
            schemaPath,
            params,
            options,
            id
          });
          if (result) {
            if (result instanceof Request2) {
              request = result;
            } else if (result instanceof Response) {
              response = result;
              break;
            } else {
              throw new Error("onRequest: must return new Request() or Response() when modifying the request");
            }
          }
        }
      }
    }
    if (!response) {
      try {
        response = await fetch(request, requestInitExt);
      } catch (error2) {
        let errorAfterMiddleware = error2;
        if (finalMiddlewares.length) {
          for (let i = finalMiddlewares.length - 1; i >= 0; i--) {
            const m = finalMiddlewares[i];
            if (m && typeof m === "object" && typeof m.onError === "function") {
              const result = await m.onError({
                request,
                error: errorAfterMiddleware,
                schemaPath,
                params,
                options,
                id
              });
              if (result) {
                if (result instanceof Response) {
                  errorAfterMiddleware = void 0;
                  response = result;
                  break;
                }
                if (result instanceof Error) {
                  errorAfterMiddleware = result;
                  continue;
                }
                throw new Error("onError: must return new Response() or instance of Error");
              }
            }
          }
        }
        if (errorAfterMiddleware) {
          throw errorAfterMiddleware;
        }
      }
      if (finalMiddlewares.length) {
        for (let i = finalMiddlewares.length - 1; i >= 0; i--) {
          const m = finalMiddlewares[i];
          if (m && typeof m === "object" && typeof m.onResponse === "function") {
            const result = await m.onResponse({
              request,
              response,
              schemaPath,
              params,
              options,
              id
            });
            if (result) {
              if (!(result instanceof Response)) {
                throw new Error("onResponse: must return new Response() when modifying the response");
              }
              response = result;
            }
          }
        }
      }
    }
    const contentLength = response.headers.get("Content-Length");
    if (response.status === 204 || request.method === "HEAD" || contentLength === "0" && !response.headers.get("Transfer-Encoding")?.includes("chunked")) {
      return response.ok ? { data: void 0, response } : { error: void 0, response };
    }
    if (response.ok) {
      const getResponseData = async () => {
        if (parseAs === "stream") {
          return response.body;
        }
        if (parseAs === "json" && !contentLength) {
          const raw = await response.text();
          return raw ? JSON.parse(raw) : void 0;
        }
        return await response[parseAs]();
      };
      return { data: await getResponseData(), response };
    }
    let error = await response.text();
    try {
      error = JSON.parse(error);
    } catch {
    }
    return { error, response };
  }
  return {
    request(method, url, init) {
      return coreFetch(url, { ...init, method: method.toUpperCase() });
    },
    /** Call a GET endpoint */
    GET(url, init) {
      return coreFetch(url, { ...init, method: "GET" });
    },
    /** Call a PUT endpoint */
    PUT(url, init) {
      return coreFetch(url, { ...init, method: "PUT" });
    },
    /** Call a POST endpoint */
    POST(url, init) {
      return coreFetch(url, { ...init, method: "POST" });
    },
    /** Call a DELETE endpoint */
    DELETE(url, init) {
      return coreFetch(url, { ...init, method: "DELETE" });
    },
    /** Call a OPTIONS endpoint */
    OPTIONS(url, init) {
      return coreFetch(url, { ...init, method: "OPTIONS" });
    },
    /** Call a HEAD endpoint */
    HEAD(url, init) {
      return coreFetch(url, { ...init, method: "HEAD" });
    },
    /** Call a PATCH endpoint */
    PATCH(url, init) {
      return coreFetch(url, { ...init, method: "PATCH" });
    },
    /** Call a TRACE endpoint */
    TRACE(url, init) {
      return coreFetch(url, { ...init, method: "TRACE" });
    },
    /** Register middleware */
    use(...middleware) {
      for (const m of middleware) {
        if (!m) {
          continue;
        }
        if (typeof m !== "object" || !("onRequest" in m || "onResponse" in m || "onError" in m)) {
          throw new Error("Middleware must be an object with one of `onRequest()`, `onResponse() or `onError()`");
        }
        globalMiddlewares.push(m);
      }
    },
    /** Unregister middleware */
    eject(...middleware) {
      for (const m of middleware) {
        const i = globalMiddlewares.indexOf(m);
        if (i !== -1) {
          globalMiddlewares.splice(i, 1);
        }
      }
    }
  };
}
function serializePrimitiveParam(name, value, options) {
  if (value === void 0 || value === null) {
    return "";
  }
  if (typeof value === "object") {
    throw new Error(
      "Deeply-nested arrays/objects aren\u2019t supported. Provide your own `querySerializer()` to handle these."
    );
  }
  return `${name}=${options?.allowReserved === true ? value : encodeURIComponent(value)}`;
}
function serializeObjectParam(name, value, options) {
  if (!value || typeof value !== "object") {
    return "";
  }
  const values = [];
  const joiner = {
    simple: ",",
    label: ".",
    matrix: ";"
  }[options.style] || "&";
  if (options.style !== "deepObject" && options.explode === false) {
    for (const k in value) {
      values.push(k, options.allowReserved === true ? value[k] : encodeURIComponent(value[k]));
    }
    const final2 = values.join(",");
    switch (options.style) {
      case "form": {
        return `${name}=${final2}`;
      }
      case "label": {
        return `.${final2}`;
      }
      case "matrix": {
        return `;${name}=${final2}`;
      }
      default: {
        return final2;
      }
    }
  }
  for (const k in value) {
    const finalName = options.style === "deepObject" ? `${name}[${k}]` : k;
    values.push(serializePrimitiveParam(finalName, value[k], options));
  }
  const final = values.join(joiner);
  return options.style === "label" || options.style === "matrix" ? `${joiner}${final}` : final;
}
function serializeArrayParam(name, value, options) {
  if (!Array.isArray(value)) {
    return "";
  }
  if (options.explode === false) {
    const joiner2 = { form: ",", spaceDelimited: "%20", pipeDelimited: "|" }[options.style] || ",";
    const final = (options.allowReserved === true ? value : value.map((v) => encodeURIComponent(v))).join(joiner2);
    switch (options.style) {
      case "simple": {
        return final;
      }
      case "label": {
        return `.${final}`;
      }
      case "matrix": {
        return `;${name}=${final}`;
      }
      // case "spaceDelimited":
      // case "pipeDelimited":
      default: {
        return `${name}=${final}`;
      }
    }
  }
  const joiner = { simple: ",", label: ".", matrix: ";" }[options.style] || "&";
  const values = [];
  for (const v of value) {
    if (options.style === "simple" || options.style === "label") {
      values.push(options.allowReserved === true ? v : encodeURIComponent(v));
    } else {
      values.push(serializePrimitiveParam(name, v, options));
    }
  }
  return options.style === "label" || options.style === "matrix" ? `${joiner}${values.join(joiner)}` : values.join(joiner);
}
function createQuerySerializer(options) {
  return function querySerializer(queryParams) {
    const search = [];
    if (queryParams && typeof queryParams === "object") {
      for (const name in queryParams) {
        const value = queryParams[name];
        if (value === void 0 || value === null) {
          continue;
        }
        if (Array.isArray(value)) {
          if (value.length === 0) {
            continue;
          }
          search.push(
            serializeArrayParam(name, value, {
              style: "form",
              explode: true,
              ...options?.array,
              allowReserved: options?.allowReserved || false
            })
          );
          continue;
        }
        if (typeof value === "object") {
          search.push(
            serializeObjectParam(name, value, {
              style: "deepObject",
              explode: true,
              ...options?.object,
              allowReserved: options?.allowReserved || false
            })
          );
          continue;
        }
        search.push(serializePrimitiveParam(name, value, options));
      }
    }
    return search.join("&");
  };
}
function defaultPathSerializer(pathname, pathParams) {
  let nextURL = pathname;
  for (const match of pathname.match(PATH_PARAM_RE) ?? []) {
    let name = match.substring(1, match.length - 1);
    let explode = false;
    let style = "simple";
    if (name.endsWith("*")) {
      explode = true;
      name = name.substring(0, name.length - 1);
    }
    if (name.startsWith(".")) {
      style = "label";
      name = name.substring(1);
    } else if (name.startsWith(";")) {
      style = "matrix";
      name = name.substring(1);
    }
    if (!pathParams || pathParams[name] === void 0 || pathParams[name] === null) {
      continue;
    }
    const value = pathParams[name];
    if (Array.isArray(value)) {
      nextURL = nextURL.replace(match, serializeArrayParam(name, value, { style, explode }));
      continue;
    }
    if (typeof value === "object") {
      nextURL = nextURL.replace(match, serializeObjectParam(name, value, { style, explode }));
      continue;
    }
    if (style === "matrix") {
      nextURL = nextURL.replace(match, `;${serializePrimitiveParam(name, value)}`);
      continue;
    }
    nextURL = nextURL.replace(match, style === "label" ? `.${encodeURIComponent(value)}` : encodeURIComponent(value));
  }
  return nextURL;
}
function defaultBodySerializer(body, headers) {
  if (body instanceof FormData) {
    return body;
  }
  if (headers) {
    const contentType = headers.get instanceof Function ? headers.get("Content-Type") ?? headers.get("content-type") : headers["Content-Type"] ?? headers["content-type"];
    if (contentType === "application/x-www-form-urlencoded") {
      return new URLSearchParams(body).toString();
    }
  }
  return JSON.stringify(body);
}
function createFinalURL(pathname, options) {
  let finalURL = `${options.baseUrl}${pathname}`;
  if (options.params?.path) {
    finalURL = options.pathSerializer(finalURL, options.params.path);
  }
  let search = options.querySerializer(options.params.query ?? {});
  if (search.startsWith("?")) {
    search = search.substring(1);
  }
  if (search) {
    finalURL += `?${search}`;
  }
  return finalURL;
}
function mergeHeaders(...allHeaders) {
  const finalHeaders = new Headers();
  for (const h of allHeaders) {
    if (!h || typeof h !== "object") {
      continue;
    }
    const iterator = h instanceof Headers ? h.entries() : Object.entries(h);
    for (const [k, v] of iterator) {
      if (v === null) {
        finalHeaders.delete(k);
      } else if (Array.isArray(v)) {
        for (const v2 of v) {
          finalHeaders.append(k, v2);
        }
      } else if (v !== void 0) {
        finalHeaders.set(k, v);
      }
    }
  }
  return finalHeaders;
}
function removeTrailingSlash(url) {
  if (url.endsWith("/")) {
    return url.substring(0, url.length - 1);
  }
  return url;
}

// node_modules/eventsource-parser/dist/errors.js
var ParseError = class extends Error {
  constructor(message, options) {
    super(message);
    this.name = "ParseError";
    this.type = options.type;
    this.field = options.field;
    this.value = options.value;
    this.line = options.line;
  }
};

// node_modules/eventsource-parser/dist/parse.js
var LF = 10;
var CR = 13;
var SPACE = 32;
var MAX_FIELD_PREFIX_LENGTH = 6;
function createParser(config) {
  if (typeof config === "function") {
    throw new TypeError("`config` must be an object, got a function instead. Did you mean `createParser({onEvent: fn})`?");
  }
  const { maxBufferSize, onComment, onError, onEvent, onId, onRetry } = config;
  const pendingFragments = [];
  let pendingFragmentsLength = 0;
  let bomPrefix = "";
  let id;
  let data = "";
  let dataLines = 0;
  let eventType;
  let terminated = false;
  let skippingLine = false;
  let skipNextLineFeed = false;
  function feed(chunk) {
    if (terminated) {
      throw new Error("Cannot feed parser: it was terminated after exceeding the configured max buffer size. Call `reset()` to resume parsing.");
    }
    if (bomPrefix !== void 0) {
      chunk = bomPrefix + chunk;
      if (chunk === "" || chunk === "\xEF" || chunk === "\xEF\xBB") {
        bomPrefix = chunk;
        return;
      }
      bomPrefix = void 0;
      chunk = chunk.replace(/^(?:\uFEFF|\xEF\xBB\xBF)/, "");
    }
    if (skippingLine || skipNextLineFeed) {
      chunk = resumeAfterSkip(chunk);
      if (!chunk) {
        return;
      }
    }
    if (!pendingFragments.length) {
      const trailing = processLines(chunk);
      if (trailing !== "") {
        storeTrailing(trailing);
      }
      checkForBufferOverflow();
      return;
    }
    if (chunk.indexOf("\n") === -1 && chunk.indexOf("\r") === -1) {
      if (pendingFragmentsLength < MAX_FIELD_PREFIX_LENGTH) {
        const head = pendingFragments.join("") + chunk.slice(0, MAX_FIELD_PREFIX_LENGTH - pendingFragmentsLength);
        if (!shouldBufferTrailing(head)) {
          pendingFragments.length = 0;
          pendingFragmentsLength = 0;
          skippingLine = true;
          return;
        }
      }
      pendingFragments.push(chunk);
      pendingFragmentsLength += chunk.length;
      checkForBufferOverflow();
      return;
    }
    pendingFragments.push(chunk);
    const input = pendingFragments.join("");
    pendingFragments.length = 0;
    pendingFragmentsLength = 0;
    storeTrailing(processLines(input));
    checkForBufferOverflow();
  }
  function resumeAfterSkip(chunk) {
    if (chunk.length === 0) {
      return chunk;
    }
    if (skipNextLineFeed) {
      skipNextLineFeed = false;
      return chunk.charCodeAt(0) === LF ? chunk.slice(1) : chunk;
    }
    const crIndex = chunk.indexOf("\r");
    const lfIndex = chunk.indexOf("\n");
    const lineEnd = crIndex === -1 ? lfIndex : lfIndex === -1 ? crIndex : crIndex < lfIndex ? crIndex : lfIndex;
    if (lineEnd === -1) {
      return "";
    }
    if (lineEnd === chunk.length - 1 && chunk.charCodeAt(lineEnd) === CR) {
      skippingLine = false;
      skipNextLineFeed = true;
      return "";
    }
    skippingLine = false;
    return chunk.slice(lineEnd + (chunk.charCodeAt(lineEnd) === CR && chunk.charCodeAt(lineEnd + 1) === LF ? 2 : 1));
  }
  function storeTrailing(trailing) {
    if (!trailing)
      return;
    if (trailing.charCodeAt(trailing.length - 1) === CR) {
      parseLine(trailing, 0, trailing.length - 1);
      if (checkForBufferOverflow())
        return;
      skipNextLineFeed = true;
      return;
    }
    if (shouldBufferTrailing(trailing)) {
      pendingFragments.push(trailing);
      pendingFragmentsLength = trailing.length;
      return;
    }
    skippingLine = true;
  }
  function shouldBufferTrailing(trailing) {
    const firstCharCode = trailing.charCodeAt(0);
    return firstCharCode === 58 && !!onComment || firstCharCode === 100 && isPotentialField(trailing, "data") || firstCharCode === 101 && isPotentialField(trailing, "event") || firstCharCode === 105 && isPotentialField(trailing, "id") || firstCharCode === 114 && isPotentialField(trailing, "retry");
  }
  function checkForBufferOverflow() {
    if (terminated)
      return true;
    if (maxBufferSize === void 0)
      return false;
    if (pendingFragmentsLength + data.length <= maxBufferSize)
      return false;
    terminated = true;
    pendingFragments.length = 0;
    pendingFragmentsLength = 0;
    id = void 0;
    data = "";
    dataLines = 0;
    eventType = void 0;
    skippingLine = false;
    skipNextLineFeed = false;
    onError === null || onError === void 0 ? void 0 : onError(new ParseError(`Buffered data exceeded max buffer size of ${maxBufferSize} characters`, {
      type: "max-buffer-size-exceeded"
    }));
    return true;
  }
  function processLines(chunk) {
    let searchIndex = 0;
    if (chunk.indexOf("\r") === -1) {
      let lfIndex2 = chunk.indexOf("\n", searchIndex);
      while (lfIndex2 !== -1) {
        if (searchIndex === lfIndex2) {
          if (id !== void 0) {
            onId === null || onId === void 0 ? void 0 : onId(id);
          }
          if (dataLines > 0) {
            onEvent === null || onEvent === void 0 ? void 0 : onEvent({ id, event: eventType, data });
          }
          id = void 0;
          data = "";
          dataLines = 0;
          eventType = void 0;
          searchIndex = lfIndex2 + 1;
          lfIndex2 = chunk.indexOf("\n", searchIndex);
          continue;
        }
        const firstCharCode = chunk.charCodeAt(searchIndex);
        if (isDataPrefix(chunk, searchIndex, firstCharCode)) {
          const valueStart = chunk.charCodeAt(searchIndex + 5) === SPACE ? searchIndex + 6 : searchIndex + 5;
          const value = chunk.slice(valueStart, lfIndex2);
          if (dataLines === 0 && chunk.charCodeAt(lfIndex2 + 1) === LF) {
            if (id !== void 0) {
              onId === null || onId === void 0 ? void 0 : onId(id);
            }
            onEvent === null || onEvent === void 0 ? void 0 : onEvent({ id, event: eventType, data: value });
            id = void 0;
            data = "";
            eventType = void 0;
            searchIndex = lfIndex2 + 2;
            lfIndex2 = chunk.indexOf("\n", searchIndex);
            continue;
          }
          data = dataLines === 0 ? value : `${data}
${value}`;
          dataLines++;
        } else if (isEventPrefix(chunk, searchIndex, firstCharCode)) {
          eventType = chunk.slice(chunk.charCodeAt(searchIndex + 6) === SPACE ? searchIndex + 7 : searchIndex + 6, lfIndex2) || void 0;
        } else {
          parseLine(chunk, searchIndex, lfIndex2);
        }
        if (checkForBufferOverflow())
          return "";
        searchIndex = lfIndex2 + 1;
        lfIndex2 = chunk.indexOf("\n", searchIndex);
      }
      return chunk.slice(searchIndex);
    }
    let crIndex = chunk.indexOf("\r", searchIndex);
    let lfIndex = chunk.indexOf("\n", searchIndex);
    while (searchIndex < chunk.length) {
      let lineEnd = -1;
      if (crIndex !== -1 && lfIndex !== -1) {
        lineEnd = crIndex < lfIndex ? crIndex : lfIndex;
      } else if (crIndex !== -1) {
        if (crIndex === chunk.length - 1) {
          lineEnd = -1;
        } else {
          lineEnd = crIndex;
        }
      } else if (lfIndex !== -1) {
        lineEnd = lfIndex;
      }
      if (lineEnd === -1) {
        break;
      }
      parseLine(chunk, searchIndex, lineEnd);
      if (checkForBufferOverflow())
        return "";
      searchIndex = lineEnd + 1;
      if (chunk.charCodeAt(searchIndex - 1) === CR && chunk.charCodeAt(searchIndex) === LF) {
        searchIndex++;
      }
      if (crIndex !== -1 && crIndex < searchIndex) {
        crIndex = chunk.indexOf("\r", searchIndex);
      }
      if (lfIndex !== -1 && lfIndex < searchIndex) {
        lfIndex = chunk.indexOf("\n", searchIndex);
      }
    }
    return chunk.slice(searchIndex);
  }
  function parseLine(chunk, start, end) {
    if (start === end) {
      dispatchEvent();
      return;
    }
    const firstCharCode = chunk.charCodeAt(start);
    if (isDataPrefix(chunk, start, firstCharCode)) {
      const valueStart = chunk.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5;
      const value2 = chunk.slice(valueStart, end);
      data = dataLines === 0 ? value2 : `${data}
${value2}`;
      dataLines++;
      return;
    }
    if (isEventPrefix(chunk, start, firstCharCode)) {
      eventType = chunk.slice(chunk.charCodeAt(start + 6) === SPACE ? start + 7 : start + 6, end) || void 0;
      return;
    }
    if (firstCharCode === 105 && chunk.charCodeAt(start + 1) === 100 && chunk.charCodeAt(start + 2) === 58) {
      const value2 = chunk.slice(chunk.charCodeAt(start + 3) === SPACE ? start + 4 : start + 3, end);
      if (!value2.includes("\0"))
        id = value2;
      return;
    }
    if (firstCharCode === 58) {
      if (onComment) {
        const line2 = chunk.slice(start, end);
        onComment(line2.slice(chunk.charCodeAt(start + 1) === SPACE ? 2 : 1));
      }
      return;
    }
    const line = chunk.slice(start, end);
    const fieldSeparatorIndex = line.indexOf(":");
    if (fieldSeparatorIndex === -1) {
      processField(line, "", line);
      return;
    }
    const field = line.slice(0, fieldSeparatorIndex);
    const offset = line.charCodeAt(fieldSeparatorIndex + 1) === SPACE ? 2 : 1;
    const value = line.slice(fieldSeparatorIndex + offset);
    processField(field, value, line);
  }
  function processField(field, value, line) {
    switch (field) {
      case "event":
        eventType = value || void 0;
        break;
      case "data":
        data = dataLines === 0 ? value : `${data}
${value}`;
        dataLines++;
        break;
      case "id":
        if (!value.includes("\0"))
          id = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) {
          onRetry === null || onRetry === void 0 ? void 0 : onRetry(parseInt(value, 10));
        } else {
          onError === null || onError === void 0 ? void 0 : onError(new ParseError(`Invalid \`retry\` value: "${value}"`, {
            type: "invalid-retry",
            value,
            line
          }));
        }
        break;
      default:
        onError === null || onError === void 0 ? void 0 : onError(new ParseError(`Unknown field "${field.length > 20 ? `${field.slice(0, 20)}\u2026` : field}"`, { type: "unknown-field", field, value, line }));
        break;
    }
  }
  function dispatchEvent() {
    if (id !== void 0) {
      onId === null || onId === void 0 ? void 0 : onId(id);
    }
    if (dataLines > 0) {
      onEvent === null || onEvent === void 0 ? void 0 : onEvent({
        id,
        event: eventType,
        data
      });
    }
    id = void 0;
    data = "";
    dataLines = 0;
    eventType = void 0;
  }
  function reset(options = {}) {
    if (options.consume && pendingFragments.length > 0) {
      const incompleteLine = pendingFragments.join("");
      parseLine(incompleteLine, 0, incompleteLine.length);
    }
    bomPrefix = "";
    id = void 0;
    data = "";
    dataLines = 0;
    eventType = void 0;
    pendingFragments.length = 0;
    pendingFragmentsLength = 0;
    terminated = false;
    skippingLine = false;
    skipNextLineFeed = false;
  }
  return { feed, reset };
}
function isDataPrefix(chunk, i, firstCharCode) {
  return firstCharCode === 100 && chunk.charCodeAt(i + 1) === 97 && chunk.charCodeAt(i + 2) === 116 && chunk.charCodeAt(i + 3) === 97 && chunk.charCodeAt(i + 4) === 58;
}
function isEventPrefix(chunk, i, firstCharCode) {
  return firstCharCode === 101 && chunk.charCodeAt(i + 1) === 118 && chunk.charCodeAt(i + 2) === 101 && chunk.charCodeAt(i + 3) === 110 && chunk.charCodeAt(i + 4) === 116 && chunk.charCodeAt(i + 5) === 58;
}
function isPotentialField(line, field) {
  let i = 1;
  while (i < line.length && i < field.length) {
    if (line.charCodeAt(i) !== field.charCodeAt(i)) {
      return false;
    }
    i++;
  }
  return line.length <= field.length || line.charCodeAt(field.length) === 58;
}

// node_modules/eventsource-parser/dist/stream.js
var EventSourceParserStream = class extends TransformStream {
  constructor({ onError, onRetry, onComment, onId, maxBufferSize } = {}) {
    let parser;
    super({
      start(controller) {
        parser = createParser({
          onEvent: (event) => {
            controller.enqueue(event);
          },
          onError(error) {
            if (typeof onError === "function") {
              onError(error);
            }
            if (onError === "terminate" || error.type === "max-buffer-size-exceeded") {
              controller.error(error);
            }
          },
          onRetry,
          onComment,
          onId,
          maxBufferSize
        });
      },
      transform(chunk) {
        parser.feed(chunk);
      }
    });
  }
};

// src/errors.ts
var SmartAppError = class extends Error {
  kind;
  status;
  problem;
  /** Seconds to wait before trying again, from Retry-After, when the answer has one. */
  retryAfter;
  constructor(problem, retryAfter) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
    this.name = new.target.name;
    this.problem = problem;
    this.status = problem.status;
    this.kind = kindOf(problem.type);
    this.retryAfter = retryAfter;
  }
};
var ValidationError = class extends SmartAppError {
  get fields() {
    return this.problem.errors ?? {};
  }
};
var UnauthorizedError = class extends SmartAppError {
};
var ForbiddenError = class extends SmartAppError {
};
var NotFoundError = class extends SmartAppError {
};
var ConflictError = class extends SmartAppError {
};
var QuotaExceededError = class extends SmartAppError {
};
var RateLimitedError = class extends SmartAppError {
};
var UnavailableError = class extends SmartAppError {
};
var byKind = {
  validation: ValidationError,
  unauthorized: UnauthorizedError,
  forbidden: ForbiddenError,
  "not-found": NotFoundError,
  conflict: ConflictError,
  "quota-exceeded": QuotaExceededError,
  "rate-limited": RateLimitedError,
  "upstream-unavailable": UnavailableError
};
function kindOf(type) {
  return type.split("/").pop() || "unexpected";
}
function retryAfterSeconds(header) {
  if (!header) return void 0;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(header);
  return Number.isNaN(at) ? void 0 : Math.max(0, (at - Date.now()) / 1e3);
}
function errorFrom(response, body) {
  const problem = body && typeof body === "object" && typeof body.type === "string" ? body : { type: `https://smartapp.dev/problems/${response.status === 404 ? "not-found" : "unexpected"}`, status: response.status, title: response.statusText };
  const retryAfter = retryAfterSeconds(response.headers.get("Retry-After"));
  return new (byKind[kindOf(problem.type)] ?? SmartAppError)(problem, retryAfter);
}

// src/uploads.ts
var StorageError = class extends Error {
  constructor(status, code) {
    super(`Storage answered ${status}${code ? ` (${code})` : ""}.`);
    this.status = status;
    this.code = code;
    this.name = "StorageError";
  }
  status;
  code;
};
var MaxBlocks = 5e4;
var sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
var transient = (status) => status === 408 || status === 429 || status >= 500;
function blockId(index) {
  return btoa(`block-${index.toString().padStart(6, "0")}`);
}
function blockSizeFor(size, wanted) {
  return Math.max(wanted, Math.ceil(size / MaxBlocks), 1);
}
function signed(uploadUrl, query) {
  return `${uploadUrl}${uploadUrl.includes("?") ? "&" : "?"}${query}`;
}
var RenewBeforeMs = 3e4;
async function stageAndCommit(fetchImpl, content, start, options, renew) {
  let upload = start;
  const count = Math.max(1, Math.ceil(upload.size / upload.blockSize));
  const staged = new Set(upload.staged);
  const bytesOf = (index) => Math.min(upload.blockSize, upload.size - index * upload.blockSize);
  let loaded = [...staged].reduce((sum, index) => sum + bytesOf(index), 0);
  options.onProgress?.({ loaded, total: upload.size });
  const checkpoint = () => options.onCheckpoint?.({ ...upload, staged: [...staged].sort((a, b) => a - b) });
  let renewing;
  const renewFrom = (stale) => {
    if (upload.uploadUrl !== stale) return Promise.resolve();
    renewing ??= renew().then((fresh) => {
      upload = { ...upload, ...fresh };
      checkpoint();
    }).finally(() => {
      renewing = void 0;
    });
    return renewing;
  };
  const put = async (query, body, contentType) => {
    if (Date.parse(upload.expiresAt) - Date.now() < RenewBeforeMs) await renewFrom(upload.uploadUrl);
    const url = upload.uploadUrl;
    try {
      await send(fetchImpl, signed(url, query), body, contentType, options);
    } catch (error) {
      if (!(error instanceof StorageError && error.status === 403)) throw error;
      await renewFrom(url);
      await send(fetchImpl, signed(upload.uploadUrl, query), body, contentType, options);
    }
  };
  const pending = Array.from({ length: count }, (_, index) => index).filter((index) => !staged.has(index));
  const sendBlock = async (index) => {
    await put(`comp=block&blockid=${encodeURIComponent(blockId(index))}`, content.slice(index * upload.blockSize, index * upload.blockSize + bytesOf(index)));
    staged.add(index);
    loaded += bytesOf(index);
    checkpoint();
    options.onProgress?.({ loaded, total: upload.size });
  };
  const workers = Array.from({ length: Math.min(Math.max(1, options.parallel ?? 2), pending.length) }, async () => {
    for (let next = pending.shift(); next !== void 0; next = pending.shift()) await sendBlock(next);
  });
  await Promise.all(workers);
  const list = Array.from({ length: count }, (_, index) => `<Latest>${blockId(index)}</Latest>`).join("");
  await put("comp=blocklist", `<?xml version="1.0" encoding="utf-8"?><BlockList>${list}</BlockList>`, "application/xml");
}
async function send(fetchImpl, url, body, contentType, options) {
  const retries = options.blockRetries ?? 3;
  for (let attempt = 0; ; attempt++) {
    let response;
    try {
      response = await fetchImpl(url, { method: "PUT", body, headers: contentType ? { "Content-Type": contentType } : {}, signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted || attempt >= retries) throw error;
      await sleep(500 * 2 ** attempt);
      continue;
    }
    await response.body?.cancel();
    if (response.ok) return;
    if (!transient(response.status) || attempt >= retries) throw new StorageError(response.status, response.headers.get("x-ms-error-code"));
    await sleep(500 * 2 ** attempt);
  }
}

// src/index.ts
var sleep2 = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
var contentTypeOf = (content, options) => options.contentType ?? (content.type || "application/octet-stream");
function unwrap(result) {
  if (!result.response.ok) throw errorFrom(result.response, result.error ?? null);
  return result.data;
}
var SmartAppClient = class {
  constructor(options) {
    this.options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    const inner = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.storageFetch = inner;
    this.fetchImpl = (input, init) => this.send(inner, new Request(input, init));
    this.api = createClient({ baseUrl: this.baseUrl, fetch: (request) => this.fetchImpl(request) });
  }
  options;
  /** Every route of the OpenAPI document, typed (openapi-fetch): `await client.api.GET("/files", { params: { query: { limit: 10 } } })`. */
  api;
  baseUrl;
  fetchImpl;
  /** Plain fetch for signed storage URLs: they carry their own credential, and the app's token must not leave the app. */
  storageFetch;
  tokens;
  /** The access token requests carry now. */
  async token() {
    return this.options.token ? await this.options.token() : this.tokens?.accessToken;
  }
  /** Demo mode: signs in by email (the same email is always the same user), optionally as a member of an organization. */
  async signInDemo(body) {
    const signIn = unwrap(await this.api.POST("/auth/demo", { body }));
    this.keep({ accessToken: signIn.accessToken, expiresAt: signIn.expiresAt });
    return signIn;
  }
  /** WorkOS, mobile flow: the authorization code and its PKCE verifier (see `createPkce`) for tokens; the refresh token is kept. */
  async exchangeCode(code, codeVerifier) {
    return this.exchange({ code, codeVerifier });
  }
  /** WorkOS: a new access token from the refresh token (single use: the new one is kept and given to `onTokens`). */
  async refresh(refreshToken = this.tokens?.refreshToken) {
    if (!refreshToken) throw new Error("There is no refresh token to use.");
    return this.exchange({ refreshToken });
  }
  /** WorkOS, web flow: the URL that starts sign-in (the server keeps state and PKCE in a cookie and returns to `returnTo`). */
  loginUrl(returnTo) {
    return `${this.baseUrl}/auth/login${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ""}`;
  }
  async exchange(body) {
    const signIn = unwrap(await this.api.POST("/auth/token", { body }));
    this.keep({ accessToken: signIn.accessToken, expiresAt: signIn.expiresAt, refreshToken: signIn.refreshToken });
    return signIn;
  }
  keep(tokens) {
    this.tokens = { ...tokens, refreshToken: tokens.refreshToken ?? this.tokens?.refreshToken };
    this.options.onTokens?.(this.tokens);
  }
  /**
   * Sends a turn and yields the reply as it streams: `meta` (ids and citations), `delta` (text), `tool_call`/`tool_result`,
   * then `done` (usage) or `error`. When the connection drops first, the reply goes on being made on the server: the
   * client yields `resumed` and follows it again from the last event it had (`maxResumes` times, default 5).
   */
  streamTurn(conversationId, body, options = {}) {
    return this.turn(conversationId, "messages", body, options);
  }
  /** Writes a reply again on a new branch (the earlier one stays on its branch), streamed as `streamTurn`. */
  streamRegenerate(conversationId, replyId, body = {}, options = {}) {
    return this.turn(conversationId, `messages/${encodeURIComponent(replyId)}/regenerate`, body, options);
  }
  /** Edits one of the user's messages on a new branch and streams the new reply, as `streamTurn`. */
  streamEdit(conversationId, messageId, body, options = {}) {
    return this.turn(conversationId, `messages/${encodeURIComponent(messageId)}/edit`, body, options);
  }
  /** Follows a reply again from the event `lastEventId` (from any instance): the missed text, then the rest; without one, all of it. */
  async *resumeReply(conversationId, replyId, lastEventId, signal) {
    const headers = lastEventId === void 0 ? {} : { "Last-Event-ID": lastEventId };
    yield* this.events(`/chat/conversations/${encodeURIComponent(conversationId)}/messages/${encodeURIComponent(replyId)}/stream`, { method: "GET", headers, signal });
  }
  async *turn(conversationId, path, body, options) {
    let replyId;
    let lastId;
    let stream = this.events(`/chat/conversations/${encodeURIComponent(conversationId)}/${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "Content-Type": "application/json" },
      signal: options.signal
    });
    for (let attempt = 1; ; attempt++) {
      try {
        for await (const event of stream) {
          if (event.id !== void 0) lastId = event.id;
          if (event.type === "meta") replyId = event.data.replyId;
          yield event;
          if (event.type === "done" || event.type === "error") return;
        }
        if (!replyId) return;
      } catch (error) {
        if (error instanceof SmartAppError || options.signal?.aborted || !replyId) throw error;
      }
      if (attempt > (options.maxResumes ?? 5)) throw new Error(`The reply ${replyId} could not be followed again after ${attempt - 1} tries.`);
      await sleep2(400 * attempt);
      yield { type: "resumed", data: { attempt } };
      stream = this.resumeReply(conversationId, replyId, lastId, options.signal);
    }
  }
  async *events(path, init) {
    const headers = new Headers(init.headers);
    headers.set("Accept", "text/event-stream");
    const response = await this.fetchImpl(this.baseUrl + path, { ...init, headers });
    if (!response.ok) throw errorFrom(response, await response.json().catch(() => null));
    if (!response.body) throw new Error("This fetch gives no response bodies as streams, which chat streaming reads: pass one that does (in React Native, expo/fetch).");
    const reader = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
    try {
      for (; ; ) {
        const { done, value } = await reader.read();
        if (done) return;
        yield { type: value.event ?? "message", id: value.id, data: JSON.parse(value.data) };
      }
    } finally {
      await reader.cancel().catch(() => void 0);
    }
  }
  /** Every item of a listing, page after page: `page(cursor)` reads one page and says where the next starts. */
  async *pages(page) {
    let cursor;
    do {
      const { items, cursor: next } = await page(cursor);
      yield* items;
      cursor = next ?? void 0;
    } while (cursor);
  }
  /** A file of any size: through the app when small, straight to storage in blocks when larger (`directThreshold`). */
  upload(content, name, options = {}) {
    return content.size > (options.directThreshold ?? 8 * 1024 * 1024) || options.resume ? this.uploadDirect(content, name, options) : this.uploadFile(content, name, options);
  }
  /** A file uploaded through the app (streamed to storage): the stored file, whose ingestion follows. */
  async uploadFile(content, name, options = {}) {
    options.onProgress?.({ loaded: 0, total: content.size });
    const stored = unwrap(
      await this.api.POST("/files", {
        params: { query: options.space ? { space: options.space } : {}, header: { "X-File-Name": encodeURIComponent(name) } },
        body: content,
        bodySerializer: (bytes) => bytes,
        // the file's own bytes, not JSON
        headers: { "Content-Type": contentTypeOf(content, options) },
        signal: options.signal
      })
    );
    options.onProgress?.({ loaded: content.size, total: content.size });
    return stored;
  }
  /**
   * A file sent straight to storage: the app signs a write-only URL, the blocks go to it (`onProgress` after each, a
   * dropped block sent again, a URL that expires on a long upload renewed), then the app measures the file and queues
   * its ingestion. Keep what `onCheckpoint` gives and pass it as `resume` after a reload: the upload goes on with the
   * blocks storage lacks (with a new URL when the kept one has expired); one the app no longer has starts again.
   */
  async uploadDirect(content, name, options = {}) {
    let upload = options.resume;
    if (upload && upload.size !== content.size) throw new Error(`The upload to resume is of ${upload.size} bytes, not ${content.size}.`);
    if (upload && Date.parse(upload.expiresAt) <= Date.now()) {
      const kept = upload;
      upload = await this.renewUploadUrl(kept.fileId, options.signal).then(
        (fresh) => ({ ...kept, ...fresh }),
        (error) => error instanceof ConflictError || error instanceof NotFoundError ? void 0 : Promise.reject(error)
      );
    }
    if (!upload) {
      const begun = unwrap(
        await this.api.POST("/files/uploads", {
          params: { query: options.space ? { space: options.space } : {} },
          body: { name, contentType: contentTypeOf(content, options), size: content.size },
          signal: options.signal
        })
      );
      upload = { fileId: begun.fileId, uploadUrl: begun.uploadUrl, expiresAt: begun.expiresAt, size: content.size, blockSize: blockSizeFor(content.size, options.blockSize ?? 4 * 1024 * 1024), staged: [] };
      options.onCheckpoint?.(upload);
    }
    const fileId = upload.fileId;
    await stageAndCommit(this.storageFetch, content, upload, options, () => this.renewUploadUrl(fileId, options.signal));
    return unwrap(await this.api.POST("/files/{fileId}/complete", { params: { path: { fileId } }, signal: options.signal }));
  }
  async renewUploadUrl(fileId, signal) {
    const renewed = unwrap(await this.api.POST("/files/{fileId}/upload-url", { params: { path: { fileId } }, signal }));
    return { uploadUrl: renewed.uploadUrl, expiresAt: renewed.expiresAt };
  }
  /** Reads the file until its ingestion is over (`indexed`, `notIndexed` or `failed`), calling `onProgress` with each state. */
  async waitForFile(fileId, options = {}) {
    const deadline = Date.now() + (options.timeoutMs ?? 12e4);
    for (; ; ) {
      const file = unwrap(await this.api.GET("/files/{fileId}", { params: { path: { fileId } } }));
      options.onProgress?.(file);
      if (file.status === "indexed" || file.status === "notIndexed" || file.status === "failed") return file;
      if (Date.now() > deadline) throw new Error(`File ${fileId} is still ${file.status}.`);
      await sleep2(options.intervalMs ?? 500);
    }
  }
  /**
   * Every request: the token; an Idempotency-Key on each POST that has none (so a retry is never applied twice); and, for
   * GETs and keyed requests, another try after a 429 or 503 that says when (Retry-After), within the configured bounds.
   */
  async send(inner, request) {
    const token = await this.token();
    if (token && !request.headers.has("Authorization")) request.headers.set("Authorization", `Bearer ${token}`);
    if (request.method === "POST" && !request.headers.has("Idempotency-Key") && !request.url.includes("/auth/")) request.headers.set("Idempotency-Key", crypto.randomUUID());
    const retryable = request.method === "GET" || request.headers.has("Idempotency-Key");
    const attempts = retryable ? (this.options.maxRetries ?? 2) + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      const response = await inner(attempt < attempts ? request.clone() : request);
      const wait = retryAfterSeconds(response.headers.get("Retry-After"));
      if (attempt >= attempts || response.status !== 429 && response.status !== 503 || wait === void 0 || wait > (this.options.maxRetryWaitSeconds ?? 30)) return response;
      await response.body?.cancel();
      await sleep2(wait * 1e3);
    }
  }
};
async function createPkce() {
  const base64Url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const verifier = base64Url(crypto.getRandomValues(new Uint8Array(48)));
  const challenge = base64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  return { verifier, challenge };
}
export {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  QuotaExceededError,
  RateLimitedError,
  SmartAppClient,
  SmartAppError,
  StorageError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
  createPkce,
  errorFrom,
  retryAfterSeconds,
  unwrap
};
