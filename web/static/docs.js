// Swagger UI over this platform's own OpenAPI document; nothing is loaded from elsewhere
// (validatorUrl: null stops the badge that would ask an outside validator).
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.document,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  validatorUrl: null,
  persistAuthorization: true,
  displayRequestDuration: true,
  showExtensions: true,
  defaultModelsExpandDepth: 0,
});
